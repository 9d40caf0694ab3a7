"""An inventory is data, never a program (wmx.site.inventory, wmx.run.environment).

Ansible's `script` inventory plugin, on by default, runs an inventory file that is
executable: inventory.yml starting with `#!/bin/sh` is still YAML (the line is a comment),
and `wmx config validate` ran it, as would every deploy. Now only the YAML plugin reads an
inventory, in wmx's process and in the Ansible it runs, and a `#!` first line is refused.
Nothing else beside the inventory is read as one, or run: not group_vars/, host_vars/, nor
plugin directories of the site.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.one_host_inventory import INVENTORY
from wmx.cli import app
from wmx.errors import InputError
from wmx.run.environment import ansible_env
from wmx.run.syntax import check_syntax
from wmx.site import inventory
from wmx.site.inventory import load_topology
from wmx.site.inventory_shape import YAML_PLUGIN

from .test_hostile_files import new_site

runner = CliRunner()


def _script(marker: Path) -> str:
    """inventory.yml as valid YAML and a shell script that creates `marker`."""
    body = INVENTORY.format(extra=f"      note: x; touch {marker}\n", site_vars="")
    return f"#!/bin/sh\n{body}"


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_a_program_as_inventory_is_refused_and_never_run(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    marker = tmp_path / "PWNED"
    path = _executable(site / "inventory.yml", _script(marker))
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file() and ".wmx" not in p.parts}
    for command in (["config", "validate"], ["render"]):
        result = runner.invoke(app, ["--site", str(site), *command])
        assert result.exit_code == 2, (result.stdout, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and f"{path}:1: a `#!` line" in lines[0], lines
    assert not marker.exists()
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file() and ".wmx" not in p.parts}
    assert after == before and not (site / "build").exists()


def test_the_line_is_refused_whatever_the_files_mode(tmp_path: Path) -> None:
    """A copy (a tarball, a checkout with core.fileMode off) may make it executable."""
    path = tmp_path / "inventory.yml"
    path.write_text("\ufeff" + _script(tmp_path / "PWNED"))
    with pytest.raises(InputError, match=r"inventory.yml:1: a `#!` line"):
        load_topology(path)


def test_wmx_reads_an_executable_inventory_with_the_yaml_plugin_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the `#!` check, the read itself still runs nothing."""
    monkeypatch.setattr(inventory, "check_not_program", lambda path: None)
    marker = tmp_path / "PWNED"
    path = _executable(tmp_path / "inventory.yml", _script(marker))
    assert [h.name for h in load_topology(path).hosts] == ["hs1"]
    assert not marker.exists()


def test_ansible_runs_read_the_inventory_with_the_yaml_plugin_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `wmx deploy` runs (ansible-playbook, in wmx's environment) with an executable
    inventory wmx had not checked: Ansible reads it, and runs nothing."""
    monkeypatch.setenv("ANSIBLE_INVENTORY_ENABLED", "script,yaml")  # the operator's: not kept
    assert ansible_env()["ANSIBLE_INVENTORY_ENABLED"] == YAML_PLUGIN
    marker = tmp_path / "PWNED"
    path = _executable(tmp_path / "inventory.yml", _script(marker))
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  tasks: []\n")
    result = check_syntax(playbook, path)
    assert result.ok, result.output
    assert not marker.exists()


def test_nothing_beside_the_inventory_is_run_or_loaded(tmp_path: Path) -> None:
    """Executable variable files, another inventory-like file, and plugin directories of
    the site: Ansible's host_group_vars reads YAML only, the inventory source is the one
    file, and plugin directories come from the operator's configuration, not the site."""
    marker = tmp_path / "PWNED"
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY.format(extra="", site_vars=""))
    (tmp_path / "host_vars").mkdir()
    _executable(tmp_path / "host_vars" / "hs1.yml", f"memo: plain\n# $(touch {marker})\n")
    _executable(tmp_path / "hosts", f"#!/bin/sh\ntouch {marker}\n")
    _executable(tmp_path / "inventory.sh", f"#!/bin/sh\ntouch {marker}\n")
    plugin = f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n"
    for directory in ("vars_plugins", "inventory_plugins"):
        (tmp_path / directory).mkdir()
        (tmp_path / directory / "evil.py").write_text(plugin)
    hosts = load_topology(path).hosts
    assert [h.name for h in hosts] == ["hs1"] and hosts[0].vars["memo"] == "plain"
    assert not marker.exists()
    assert os.access(tmp_path / "hosts", os.X_OK)  # was there to be run
