"""`wmx config set` changes the lines of the setting and no other: a hand-written
wmx.yaml keeps its CRLF line endings, blank lines, indentation, long lines, BOM and
closing comments, a value already set writes nothing, a file wmx could not read back is
never written, and an empty file is said in one line (wmx.site.yaml_layout)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.site import yaml_size
from wmx.site.yamlfile import MAX_FILE_BYTES, dump_document, load_document, round_trip_yaml

runner = CliRunner()

LINE = "  max_upload_size_mb: 50"
CHANGED = "  max_upload_size_mb: 51"


def _set(site: Path, key: str, value: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--site", str(site), "config", "set", key, value])
    return result.exit_code, result.stderr


def _set_upload(site: Path, value: str = "51") -> None:
    code, err = _set(site, "synapse.max_upload_size_mb", value)
    assert code == 0, err


def test_a_crlf_file_keeps_its_line_endings_and_blank_lines(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    before = config.read_bytes().replace(b"\n", b"\r\n")
    config.write_bytes(before)
    _set_upload(site_dir)
    want = before.replace(f"{LINE}\r\n".encode(), f"{CHANGED}\r\n".encode())
    assert want != before and config.read_bytes() == want


def test_the_same_value_writes_nothing(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    config.write_bytes(config.read_bytes().replace(b"\n", b"\r\n"))
    before, inode = config.read_bytes(), config.stat().st_ino
    _set_upload(site_dir, "50")
    # Not replaced at all (a write renames a new file over it), and still said as set.
    assert config.read_bytes() == before and config.stat().st_ino == inode


def _reindented(text: str) -> str:
    """`text` written with mappings indented by 4 and sequences by 6 (dash at 4)."""
    yaml = round_trip_yaml()
    yaml.indent(mapping=4, sequence=6, offset=4)
    return dump_document(yaml.load(text), explicit_null=True, yaml=yaml)


def test_a_file_indented_by_four_keeps_its_indentation(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    before = _reindented(config.read_text())
    assert "\n    max_upload_size_mb: 50\n" in before and "\n        - name: libera\n" in before
    config.write_text(before)
    _set_upload(site_dir)
    assert config.read_text() == before.replace(
        "\n    max_upload_size_mb: 50\n", "\n    max_upload_size_mb: 51\n"
    )


def test_a_long_line_is_not_wrapped(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    rooms = ", ".join(f"'#{'room' * 24}{i}:example.test'" for i in range(50))
    before = config.read_text().replace("featured_rooms: []", f"featured_rooms: [{rooms}]")
    assert len(max(before.splitlines(), key=len)) > 5000
    config.write_text(before)
    _set_upload(site_dir)
    assert config.read_text() == before.replace(LINE, CHANGED)


def test_a_bom_is_kept(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    before = b"\xef\xbb\xbf" + config.read_bytes()
    config.write_bytes(before)
    _set_upload(site_dir)
    assert config.read_bytes() == before.replace(LINE.encode(), CHANGED.encode())


SHORT = """\
schema_version: 2
server_name: example.test
homeserver:
  host: matrix.example.test
web_client:
  host: element.example.test
contacts:
  admin_email: admin@example.test
acme:
  email: admin@example.test
synapse:
  max_upload_size_mb: 50  # fifty
  log_level: INFO

# The database.
postgresql:
  max_connections: 100

# trailing comment
"""


def test_a_new_key_goes_before_the_comments_that_end_its_section(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    config.write_text(SHORT)
    assert _set(site_dir, "synapse.search", "false")[0] == 0
    assert _set(site_dir, "synapse.retention.enabled", "true")[0] == 0
    assert _set(site_dir, "tls.hsts_max_age", "100")[0] == 0
    assert config.read_text() == SHORT.replace(
        "  log_level: INFO\n",
        "  log_level: INFO\n  search: false\n  retention:\n    enabled: true\n",
    ).replace("  max_connections: 100\n", "  max_connections: 100\ntls:\n  hsts_max_age: 100\n")


def test_a_file_over_the_size_limit_is_refused_before_it_is_written(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    before = config.read_bytes()
    # A list wmx bounds by nothing but the size of the file.
    ranges = [f"2001:db8:1234:{i:x}::/64" for i in range(MAX_FILE_BYTES // 25)]
    code, err = _set(site_dir, "synapse.federation_allow_ranges", f"[{', '.join(ranges)}]")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "bytes, over the 1 MiB" in err and err.strip().endswith("wmx.yaml: unchanged")
    assert config.read_bytes() == before
    assert runner.invoke(app, ["--site", str(site_dir), "config", "validate"]).exit_code == 0


def test_an_empty_file_is_said_in_one_line(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    config.write_text("# only a comment\n")
    code, err = _set(site_dir, "synapse.max_upload_size_mb", "5")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "holds no settings (empty, or only comments)" in err
    assert config.read_text() == "# only a comment\n"


def test_a_file_over_the_value_limit_is_refused_before_it_is_written(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Short values can pass the count wmx reads back (MAX_VALUES) under 1 MiB: refused
    too, rather than written into a file every command would then refuse."""
    config = site_dir / "wmx.yaml"
    before = config.read_bytes()
    held = 0
    while too_many_values_at(load_document(config), held):
        held += 1000  # the values the file holds now, to the thousand
    monkeypatch.setattr(yaml_size, "MAX_VALUES", held + 1000)
    ranges = [f"10.{i // 256}.{i % 256}.0/24" for i in range(2000)]
    code, err = _set(site_dir, "synapse.federation_allow_ranges", f"[{', '.join(ranges)}]")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "values, more than wmx reads" in err and err.strip().endswith("wmx.yaml: unchanged")
    assert config.read_bytes() == before


def too_many_values_at(data: object, limit: int) -> bool:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yaml_size, "MAX_VALUES", limit)
        return yaml_size.too_many_values(data)
