"""A hostile operator's site files that are not files, and the lines of wrong values.

A site file that is a FIFO or a device (or a symbolic link to one: /dev/zero, a FIFO
nobody writes) must be refused at once, never read (a read would wait forever or never
end). `schema_version` and the values of secrets.yml are refused with their line.
Each case runs through the CLI: exit 2, one line naming the file, nothing written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app

runner = CliRunner()


def new_site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    result = runner.invoke(app, ["init", str(root), "--defaults", "--server-name", "example.test"])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return new_site(tmp_path)


def _snapshot(root: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel in (".wmx", ".wmx.yaml.lock") or rel.startswith(".wmx/cache"):
            continue  # the inventory's cache, config set's lock: not the site's data
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_file():
            found[rel] = (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_mode)
        else:
            found[rel] = ("other", path.lstat().st_mode)
    return found


def _refused(site: Path, args: list[str], *says: str) -> str:
    before = _snapshot(site)
    result = runner.invoke(app, ["--site", str(site), *args])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for part in says:
        assert part in lines[0], (part, lines[0])
    assert _snapshot(site) == before
    assert not (site / "build").exists()
    return lines[0]


def _fifo(site: Path, name: str) -> None:
    (site / name).unlink(missing_ok=True)
    os.mkfifo(site / name, 0o600)


def _link(target: str) -> Callable[[Path, str], None]:
    def link(site: Path, name: str) -> None:
        (site / name).unlink()
        if target == "fifo":
            os.mkfifo(site.parent / "fifo", 0o600)
            (site / name).symlink_to(site.parent / "fifo")
        else:
            (site / name).symlink_to(target)

    return link


NOT_FILES = {
    "fifo": (_fifo, "is a FIFO, not a regular file"),
    "link-to-fifo": (_link("fifo"), "is a FIFO, not a regular file"),
    "link-to-dev-zero": (_link("/dev/zero"), "is a character device, not a regular file"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("kind", "name"),
    [(kind, name) for kind in NOT_FILES for name in ("wmx.yaml", "inventory.yml", "secrets.yml")],
)
def test_a_site_file_that_is_no_file_is_refused_without_reading_it(
    site: Path, name: str, kind: str
) -> None:
    make, says = NOT_FILES[kind]
    make(site, name)
    _refused(site, ["render"], f"{site / name}: {says}")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["group_vars/all.yml", "host_vars/matrix.yml", "group_vars/all"])
def test_a_vars_file_that_is_no_file_is_refused_without_reading_it(site: Path, where: str) -> None:
    (site / where).parent.mkdir()
    (site / where).symlink_to("/dev/zero")
    _refused(site, ["config", "validate"], f"{site / where}: is a character device")


@pytest.mark.timeout(60)
def test_a_hidden_fifo_among_the_vars_files_is_left_alone_as_ansible_does(site: Path) -> None:
    (site / "group_vars").mkdir()
    os.mkfifo(site / "group_vars" / ".editor.swp")
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("schema_version: true", "schema_version: must be a whole number"),
        ("schema_version: banana", "schema_version: must be a whole number"),
        ("schema_version: 2.0", "schema_version: must be a whole number"),
        ("schema_version: 99", "schema_version 99 is newer"),
    ],
)
def test_schema_version_is_refused_with_its_line(site: Path, written: str, says: str) -> None:
    path = site / "wmx.yaml"
    text = path.read_text()
    line = text[: text.index("schema_version: 2")].count("\n") + 1
    path.write_text(text.replace("schema_version: 2", written, 1))
    _refused(site, ["render"], f"{path}:{line}: {says}")


def _secrets_line(site: Path, key: str, new: str | None) -> int:
    path = site / "secrets.yml"
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, text in enumerate(lines) if text.startswith(f"{key}:"))
    if new is None:
        lines.append(lines.pop(at))
        at = len(lines) - 1
    else:
        lines[at] = new + "\n"
    path.write_text("".join(lines))
    return at + 1


@pytest.mark.parametrize(
    ("key", "new", "says"),
    [
        ("form_secret", "form_secret: [a, b]", "form_secret: not a secret as wmx writes it"),
        ("form_secret", "form_secret: 123456789012345678", "form_secret: not a secret"),
        ("form_secret", "form_secret: ''", "form_secret is empty"),
        ("form_secret", "'form_secret': \"{{ 7*7 }}aaaaaaaaaaaaaaaaa\"", "form_secret: not a"),
        ("secrets_version", "secrets_version: banana", "secrets_version: must be a whole"),
        ("secrets_version", "secrets_version: 99", "written by a newer wmx"),
        ("form_secret", "form_secrt: abcdefghijklmnopqrstuvwxyz", "unknown secret 'form_secrt'"),
        ("sudo_password", 'sudo_password: "a\\nb"', "sudo_password: must be one line"),
        ("sudo_password", "sudo_password: [1]", "sudo_password: must be one line"),
    ],
)
def test_a_wrong_secret_is_refused_with_its_line(site: Path, key: str, new: str, says: str) -> None:
    line = _secrets_line(site, key, new)
    message = _refused(site, ["render"], f"{site / 'secrets.yml'}:{line}: {says}")
    assert "aaaaaaaaaaaaaaa" not in message and "abcdefghij" not in message


@pytest.mark.parametrize("value", ["1", "3", "0", "true"])
def test_config_set_never_writes_another_schema_version(site: Path, value: str) -> None:
    # schema_version: 1 or 3 had been written; wmx then misread or refused the file.
    _refused(site, ["config", "set", "schema_version", value], "wmx.yaml:", "schema_version")


@pytest.mark.parametrize(
    ("name", "added", "says"),
    [
        # ruamel's cause quotes the value, line break and all: the key is named, not it
        ("wmx.yaml", 'server_name: "a\\nb"\n', 'broken YAML: duplicate key "server_name"'),
        ("inventory.yml", 'all: "x\\ny"\n', "broken YAML"),
        # a key is shown on one line, escaped and cut
        ("wmx.yaml", '"x\\ny\\u202e": 1\n', "'x\\ny\\u202e': unknown key"),
        ("wmx.yaml", f'"{"k" * 500}": 1\n', f"'{'k' * 64}…': unknown key"),
    ],
)
def test_an_error_quoting_a_line_break_or_a_long_key_stays_one_line(
    site: Path, name: str, added: str, says: str
) -> None:
    path = site / name
    lines = path.read_text().count("\n")
    path.write_text(path.read_text() + added)
    _refused(site, ["config", "validate"], f"{path}:{lines + 1}: ", says)


@pytest.mark.parametrize(
    ("added", "says"),
    [("? [a, b]\n: 1\n", "('a', 'b'): Keys should be strings"), ("~: 1\n", "None: Keys")],
)
def test_a_key_that_is_not_text_is_refused_with_its_line(site: Path, added: str, says: str) -> None:
    path = site / "wmx.yaml"
    lines = path.read_text().count("\n")
    path.write_text(path.read_text() + added)
    _refused(site, ["config", "validate"], f"{path}:{lines + 1}: {says}")


def test_a_control_character_in_secrets_is_refused_with_its_line(site: Path) -> None:
    path = site / "secrets.yml"
    lines = path.read_text().count("\n")
    path.write_text(path.read_text() + 'note: "\x1b[31m"\n')
    _refused(site, ["render"], f"{path}:{lines + 1}: broken YAML (cause not shown")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "{}\n"])
def test_a_wmx_yaml_without_settings_is_one_line(site: Path, text: str) -> None:
    """Not one line per setting it lacks (an empty file had given five)."""
    (site / "wmx.yaml").write_text(text)
    _refused(site, ["config", "validate"], "wmx.yaml: holds no settings", "wmx init")


SECRET = "hunter2-" + "9f3c1d"


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("inventory.yml", f"all:\n  vars:\n    ansible_become_password: *{SECRET}\n", "alias …"),
        ("group_vars/all.yml", f"ansible_ssh_pass: *{SECRET}\n", "alias …"),
        ("host_vars/matrix.yml", f"a: '{SECRET}'\na: x\n", 'duplicate key "a"'),
        ("inventory.yml", f"all:\n  vars:\n    a: x\n    a: '{SECRET}'\n", 'duplicate key "a"'),
    ],
)
def test_broken_yaml_in_the_inventory_names_its_line_not_its_values(
    site: Path, name: str, text: str, says: str
) -> None:
    """The inventory and its vars files may hold Ansible's passwords; ruamel's cause
    quotes the text near the error (`found undefined alias 'hunter2…'`)."""
    path = site / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    line = _refused(site, ["config", "validate"], "broken YAML", says)
    assert SECRET not in line
