"""Issue 10: edits of a site that must never lose anything — `wmx config set` under
parallel runs, exact values and kept comments, explicit secret rotation, the deployed
server name, and paths that stay inside the site. The input-error cases themselves are in
test_hostile_input.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.test_hostile_input import (
    _edit,
    _one_error_line,
    _renamed_after_deploy,
    _secret_line,
    _snapshot,
)
from wmx.cli import app
from wmx.errors import InputError
from wmx.render.build_tree import _confined
from wmx.site import secrets as site_secrets
from wmx.site.config_edit import parse_value
from wmx.site.yamlfile import dump_document, round_trip_yaml

runner = CliRunner()

# --- config set: lock, atomic write, mode, symlink, exact values, comments -------------

PARALLEL_SETTINGS = {
    "synapse.max_upload_size_mb": "51",
    "synapse.presence": "false",
    "synapse.log_level": "WARNING",
    "synapse.search": "false",
    "postgresql.max_connections": "101",
    "tls.hsts_max_age": "31536000",
    "monitoring.scrape_interval": "20",
    "monitoring.retention_days": "31",
    "monitoring.group_interval": "301",
    "backup.retention.daily": "8",
    "backup.retention.weekly": "5",
    "backup.retention.monthly": "7",
}


def test_twelve_parallel_config_sets_all_survive(site_dir: Path, tmp_path: Path) -> None:
    """Twelve processes wait for one signal, then each sets another key at once: the lock
    makes every read-modify-write see the others' edits (the CLI calls set_value)."""
    go = tmp_path / "go"
    code = (
        "import sys, time, pathlib\n"
        "from wmx.site import SitePaths\n"
        "from wmx.site.config_edit import set_value\n"
        "while not pathlib.Path(sys.argv[1]).exists(): time.sleep(0.01)\n"
        "set_value(SitePaths(pathlib.Path(sys.argv[2])), sys.argv[3], sys.argv[4], "
        "deployed=False)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(go), str(site_dir), key, value],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for key, value in PARALLEL_SETTINGS.items()
    ]
    time.sleep(0.5)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    document = round_trip_yaml().load((site_dir / "wmx.yaml").read_text())
    for key, value in PARALLEL_SETTINGS.items():
        node = document
        for part in key.split("."):
            node = node[part]
        assert str(node).lower() == value.lower(), key
    assert not list(site_dir.glob(".wmx.yaml.*.tmp"))


def test_config_set_keeps_mode_and_symlink(site_dir: Path) -> None:
    # A link within the site (one out of it is refused: tests/unit/test_site_links.py).
    real = site_dir / "kept" / "wmx.yaml"
    real.parent.mkdir()
    (site_dir / "wmx.yaml").rename(real)
    (site_dir / "wmx.yaml").symlink_to(real)
    real.chmod(0o640)
    result = runner.invoke(
        app, ["--site", str(site_dir), "config", "set", "synapse.max_upload_size_mb", "77"]
    )
    assert result.exit_code == 0, result.stderr
    assert (site_dir / "wmx.yaml").is_symlink()
    assert "max_upload_size_mb: 77" in real.read_text()
    assert real.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    "text",
    [
        "a@b.org #x",
        "x: y",
        "- item",
        "yes",
        "trailing ",
        "é ünïcödé",
        "a b # c",
        "https://h.example/p#frag",
        "k: v # c",
    ],
)
def test_a_value_is_stored_exactly_as_confirmed(text: str) -> None:
    """What YAML would read as text is the text typed, written so it reads back the same."""
    value = parse_value(text)
    assert value == text
    document = round_trip_yaml().load("k: old  # comment\n")
    document["k"] = value
    assert round_trip_yaml().load(dump_document(document, explicit_null=True))["k"] == text


@pytest.mark.parametrize("text", ["@x", "%x", "{{ lookup('pipe','id') }} x", "'a' b", "a\tb", "{"])
def test_a_value_yaml_cannot_read_is_refused_not_guessed(text: str) -> None:
    with pytest.raises(InputError, match="put text in quotes"):
        parse_value(text)


def test_parse_value_reads_yaml_scalars_and_quoted_text() -> None:
    assert parse_value("50") == 50
    assert parse_value("true") is True
    assert parse_value("null") is None
    assert parse_value('"50"') == "50"
    assert list(parse_value("[a, b]")) == ["a", "b"]


def test_setting_a_section_as_a_flow_map_keeps_its_comments(site_dir: Path) -> None:
    before = (site_dir / "wmx.yaml").read_text()
    result = runner.invoke(
        app,
        ["--site", str(site_dir), "config", "set", "synapse", "{log_level: ERROR, search: false}"],
    )
    assert result.exit_code == 0, result.stderr
    after = (site_dir / "wmx.yaml").read_text()
    expected = before.replace("log_level: INFO", "log_level: ERROR").replace(
        "search: true", "search: false"
    )
    assert after == expected


def test_server_name_can_be_put_back_after_a_hand_edit(site_dir: Path) -> None:
    _renamed_after_deploy(site_dir)
    result = runner.invoke(
        app, ["--site", str(site_dir), "config", "set", "server_name", "example.test"]
    )
    assert result.exit_code == 0, result.stderr
    assert runner.invoke(app, ["--site", str(site_dir), "config", "validate"]).exit_code == 0


def test_server_name_of_a_site_deployed_before_the_record(site_dir: Path) -> None:
    """Sites deployed by an earlier wmx have no site.json: the deployed homeserver.yaml
    says the name."""
    config = site_dir / ".wmx/deployed/matrix/etc/matrix-synapse/homeserver.yaml"
    config.parent.mkdir(parents=True)
    config.write_text('# comment\nserver_name: "example.test"\n')
    _edit("wmx.yaml", "server_name: example.test", "server_name: other.test")(site_dir)
    result = runner.invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 2
    _one_error_line(result, ("'example.test'", "cannot change"))


# --- secrets ---------------------------------------------------------------------------


def _secrets(site: Path) -> dict[str, object]:
    data = round_trip_yaml().load((site / "secrets.yml").read_text())
    return dict(data)


def test_rotate_says_what_breaks_asks_and_replaces_only_that_secret(site_dir: Path) -> None:
    before = _secrets(site_dir)
    declined = runner.invoke(
        app, ["--site", str(site_dir), "secrets", "rotate", "backup_passphrase"], input="n\n"
    )
    assert declined.exit_code == 1
    assert "existing borg repositories" in " ".join(declined.stdout.split())
    assert _secrets(site_dir) == before
    done = runner.invoke(
        app, ["--site", str(site_dir), "secrets", "rotate", "backup_passphrase", "--yes"]
    )
    assert done.exit_code == 0, done.stderr
    after = _secrets(site_dir)
    assert after["backup_passphrase"] != before["backup_passphrase"]
    assert {k: v for k, v in after.items() if k != "backup_passphrase"} == {
        k: v for k, v in before.items() if k != "backup_passphrase"
    }
    for value in after.values():
        assert str(value) not in done.stdout + done.stderr or len(str(value)) < 8
    assert (site_dir / "secrets.yml").stat().st_mode & 0o777 == 0o600


def test_rotate_restores_a_lost_secret(site_dir: Path) -> None:
    _secret_line("macaroon_secret_key", "")(site_dir)
    assert runner.invoke(app, ["--site", str(site_dir), "render"]).exit_code == 2
    result = runner.invoke(
        app, ["--site", str(site_dir), "secrets", "rotate", "macaroon_secret_key", "-y"]
    )
    assert result.exit_code == 0, result.stderr
    assert runner.invoke(app, ["--site", str(site_dir), "render"]).exit_code == 0


def test_only_a_secret_a_newer_wmx_introduces_is_added_and_said(site_dir: Path) -> None:
    # A file written before upgrade_canary_password existed (secrets_version 1, no line).
    _secret_line("upgrade_canary_password", "")(site_dir)
    path = site_dir / "secrets.yml"
    path.write_text(path.read_text().replace("secrets_version: 3", "secrets_version: 1"))
    result = runner.invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 0, result.stderr
    assert "added upgrade_canary_password" in result.stderr
    data = _secrets(site_dir)
    assert data["secrets_version"] == site_secrets.SECRETS_VERSION == 3
    assert len(str(data["upgrade_canary_password"])) >= 32
    assert str(data["upgrade_canary_password"]) not in result.stdout + result.stderr
    # Another missing secret of the same file is still refused.
    _secret_line("form_secret", "")(site_dir)
    assert runner.invoke(app, ["--site", str(site_dir), "render"]).exit_code == 2


def test_an_empty_supplied_secret_renders_empty_never_none(site_dir: Path) -> None:
    _secret_line("alert_smtp_password", "alert_smtp_password:\n")(site_dir)
    result = runner.invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 0, result.stderr
    for path in (site_dir / "build").rglob("*"):
        if path.is_file() and "password" in path.name:
            assert path.read_text().strip() != "None", path


# --- every written path stays under build/ ---------------------------------------------


def test_build_paths_are_confined(tmp_path: Path) -> None:
    root = tmp_path / "build"
    root.mkdir()
    assert _confined(root / "matrix" / "etc" / "x", root) == root / "matrix" / "etc" / "x"
    (root / "link").symlink_to(tmp_path)
    for escape in (root / ".." / "x", root / "/tmp/x", root / "link" / "x"):
        with pytest.raises(Exception, match="outside"):
            _confined(escape, root)
    assert os.listdir(root) == ["link"]


def test_a_relay_password_with_a_control_character_is_refused_and_nothing_written(
    site_dir: Path,
) -> None:
    before = (site_dir / "secrets.yml").read_bytes()
    result = runner.invoke(
        app,
        ["--site", str(site_dir), "monitoring", "smtp-password", "--stdin"],
        input="pa\x1bss\n",
    )
    assert result.exit_code == 2
    # Said as the value given: secrets.yml, unchanged, is not what is wrong.
    line = _one_error_line(result, ("alert_smtp_password: the value given", "nothing stored"))
    assert "pa\x1bss" not in line and "secrets.yml" not in line
    assert (site_dir / "secrets.yml").read_bytes() == before
    result = runner.invoke(
        app, ["--site", str(site_dir), "monitoring", "smtp-password", "--stdin"], input="s3cret\n"
    )
    assert result.exit_code == 0, result.stderr
    assert "s3cret" not in result.stdout + result.stderr


def test_deploy_refuses_a_changed_server_name_before_any_host_is_touched(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wmx.ops.deploy

    def no_playbook(*args: object, **kwargs: object) -> None:
        raise AssertionError("a playbook ran for a site whose server_name changed")

    monkeypatch.setattr(wmx.ops.deploy, "run_playbook", no_playbook)
    _renamed_after_deploy(site_dir)
    before = _snapshot(site_dir)
    for args in (["deploy"], ["deploy", "--check"]):
        result = runner.invoke(app, ["--site", str(site_dir), *args])
        assert result.exit_code == 2, (result.stdout, result.stderr)
        _one_error_line(result, ("wmx.yaml:", "server_name", "cannot change"))
    assert _snapshot(site_dir) == before
    assert not (site_dir / "build").exists()
