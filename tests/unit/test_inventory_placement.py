"""The inventory's placement rules (which host a group may hold) name the file and the line
of the entry that is wrong: the host's entry in that group (wmx.site.inventory_lines:
member_line). They had named the inventory alone, or (TURN over TLS) no file at all. And
a misspelt host (`matrx` beside `matrix`) is named as a misspelling before any placement
rule blames the group it was written in. Each case runs through the CLI: exit 2, one
line, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.site.inventory_lines import member_line

from .test_hostile_files import new_site

runner = CliRunner()
OTHER = "    other:\n      ansible_host: 203.0.113.11\n"


def _refused(site: Path) -> str:
    before = (site / "wmx.yaml").read_bytes()
    result = runner.invoke(app, ["--site", str(site), "render"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert not (site / "build").exists() and (site / "wmx.yaml").read_bytes() == before
    return lines[0].removeprefix("error: ")


def _entry(path: Path, group: str, host: str) -> int:
    """The line of `host`'s entry under `group` in a block-style inventory."""
    lines = path.read_text().splitlines()
    start = lines.index(f"    {group}:")
    return next(n for n, line in enumerate(lines, 1) if n > start and line == f"        {host}:")


def _edit(site: Path, old: str, new: str, count: int = 1) -> Path:
    path = site / "inventory.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))
    return path


def _move(site: Path, group: str, host: str = "other") -> Path:
    """`group` holds `host` instead of matrix, and `other` is a host of the site."""
    _edit(site, "  hosts:\n", "  hosts:\n" + OTHER)
    return _edit(site, f"    {group}:\n      hosts:\n        matrix:\n",
                 f"    {group}:\n      hosts:\n        {host}:\n")  # fmt: skip


@pytest.mark.parametrize(
    ("group", "said"),
    [
        ("element", "group 'element' must hold the proxy host (matrix), not other: "),
        ("irc_bridge", "group 'irc_bridge' must hold the homeserver's host (matrix), not other"),
        ("turn", "group turn: coturn on other would need the site's certificate for turn.tls"),
    ],
)
def test_a_group_on_the_wrong_host_names_that_hosts_entry(
    tmp_path: Path, group: str, said: str
) -> None:
    site = new_site(tmp_path)
    path = _move(site, group)
    line = _refused(site)
    assert line.startswith(f"{path}:{_entry(path, group, 'other')}: {said}"), line


def test_turn_over_tls_says_where_the_setting_is(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    _move(site, "turn")
    line = _refused(site)
    assert "turn.tls (true in wmx.yaml)" in line and "set turn.tls: false in wmx.yaml" in line


def test_a_host_too_many_in_a_group_of_one_names_its_entry(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    _edit(site, "  hosts:\n", "  hosts:\n" + OTHER)
    path = _edit(site, "    database:\n      hosts:\n        matrix:\n",
                 "    database:\n      hosts:\n        matrix:\n        other:\n")  # fmt: skip
    line = _refused(site)
    where = f"{path}:{_entry(path, 'database', 'other')}: "
    assert line.startswith(f"{where}group 'database' must hold exactly one host (it holds "), line


def test_a_bridge_without_a_homeserver_names_the_bridges_entry(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    path = _edit(site, "    homeserver:\n      hosts:\n        matrix:\n", "")
    line = _refused(site)
    where = f"{path}:{_entry(path, 'irc_bridge', 'matrix')}: "
    assert line.startswith(f"{where}group 'irc_bridge' (matrix) needs a homeserver"), line


def test_a_backup_host_that_runs_the_homeserver_names_its_entry(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    path = _edit(site, "  children:\n", "  children:\n    backup:\n      hosts:\n        matrix:\n")
    line = _refused(site)
    where = f"{path}:{_entry(path, 'backup', 'matrix')}: group backup: matrix"
    assert line.startswith(where), line


def test_backup_without_a_repository_names_the_wmx_yaml_line(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    config = site / "wmx.yaml"
    config.write_text(
        config.read_text().replace("  local_repository: true", "  local_repository: false")
    )
    lines = config.read_text().splitlines()
    at = lines.index("  local_repository: false") + 1
    line = _refused(site)
    assert line.startswith(f"{config}:{at}: backup.enabled is true but the site has no "), line


@pytest.mark.parametrize("group", ["proxy", "homeserver", "element", "irc_bridge", "database"])
def test_a_misspelt_host_is_named_before_the_placement_rules(tmp_path: Path, group: str) -> None:
    """`matrx` under `proxy` had been blamed by Element's rule (group 'element' must hold
    the proxy host (matrx), not matrix), pointing at the wrong group and the wrong fix."""
    site = new_site(tmp_path)
    path = _edit(site, f"    {group}:\n      hosts:\n        matrix:\n",
                 f"    {group}:\n      hosts:\n        matrx:\n")  # fmt: skip
    line = _refused(site)
    assert line == (
        f"{path}:{_entry(path, group, 'matrx')}: host 'matrx' has no ansible_host and looks "
        "like a misspelling of 'matrix'; fix the name, or give it an ansible_host"
    )


def test_a_misspelt_group_is_named_before_the_count_of_the_right_one(tmp_path: Path) -> None:
    """`proxi:` had been said as group 'proxy' holding no host."""
    site = new_site(tmp_path)
    path = _edit(site, "    proxy:\n", "    proxi:\n")
    line = _refused(site)
    at = path.read_text().splitlines().index("    proxi:") + 1
    assert line.startswith(f"{path}:{at}: unknown group 'proxi' (did you mean 'proxy'?)"), line


def test_member_line_finds_the_entry_that_puts_a_host_in_a_group(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(
        "all:\n"  # 1
        "  hosts:\n"  # 2
        "    web1: {ansible_host: 10.0.0.1}\n"  # 3
        "    db2:\n"  # 4
        "  children:\n"  # 5
        "    proxy:\n"  # 6
        "      hosts:\n"  # 7
        "        web[1:3]:\n"  # 8
        "    element:\n"  # 9
        "      children:\n"  # 10
        "        proxy:\n"  # 11
        "    database: {hosts: {db1: , db2: }}\n"  # 12
        "    turn:\n"  # 13
        "      hosts: {}\n"  # 14
    )
    assert member_line(path, "proxy", "web2") == f"{path}:8"  # a range of its shape
    assert member_line(path, "element", "web1") == f"{path}:11"  # through a child group
    assert member_line(path, "database", "db2") == f"{path}:12"  # a flow mapping's line
    assert member_line(path, "turn", "web1") == f"{path}:13"  # not there: the group's
    assert member_line(path, "monitoring", "web1") == str(path)  # no such group
    assert member_line(tmp_path / "missing.yml", "proxy", "web1") == str(tmp_path / "missing.yml")


def test_member_line_tells_ranges_of_one_shape_apart_by_their_bounds(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(
        "all:\n"  # 1
        "  children:\n"  # 2
        "    synapse_workers:\n"  # 3
        "      hosts:\n"  # 4
        "        w[01:02]:\n"  # 5
        "        w[03:04]:\n"  # 6
        "        x[a:c:2]:\n"  # 7
        "        x[b:d:2]:\n"  # 8
    )
    assert member_line(path, "synapse_workers", "w02") == f"{path}:5"
    assert member_line(path, "synapse_workers", "w03") == f"{path}:6"
    assert member_line(path, "synapse_workers", "xc") == f"{path}:7"
    assert member_line(path, "synapse_workers", "xd") == f"{path}:8"
