"""An older Synapse release than a host runs is refused by the synapse role
(tasks/no_going_back.yml) before it is downloaded, except on a drill's spare host, whose
database a restore replaces: there wmx passes synapse_older_allowed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

import wmx.errors
import wmx.ops.deploy
from wmx.ops import drill
from wmx.resources import data_dir
from wmx.run import RunResult
from wmx.site import load_site

TASKS = data_dir("playbooks") / "roles" / "synapse" / "tasks"


def _names(path: Path) -> list[str]:
    return [task["name"] for task in yaml.safe_load(path.read_text())]


def test_the_guard_comes_before_the_release_is_downloaded() -> None:
    guard = "Refuse an older Synapse release than this host runs"
    venv = _names(TASKS / "venv.yml")
    assert venv[0] == guard and any("Start installing" in n for n in venv[1:])
    assert _names(TASKS / "converge.yml")[0] == guard
    (read, refuse) = yaml.safe_load((TASKS / "no_going_back.yml").read_text())
    assert read["ansible.builtin.stat"]["path"] == "{{ synapse_current_link }}"
    assert "not synapse_older_allowed" in refuse["when"]
    assert "version_type='pep440'" in refuse["ansible.builtin.assert"]["that"]


@pytest.mark.parametrize("drilled", [False, True])
def test_only_a_drills_deploy_allows_an_older_release(
    site_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drilled: bool
) -> None:
    site = load_site(site_dir)
    given: dict[str, Any] = {}

    def run_playbook(**kwargs: Any) -> RunResult:
        given.update(kwargs["extravars"])
        return RunResult(False, 2, "failed", {}, 0, [], [], tmp_path, tmp_path)

    monkeypatch.setattr(wmx.ops.deploy, "run_playbook", run_playbook)
    monkeypatch.setattr(wmx.ops.deploy, "preflight", lambda *a: None)
    monkeypatch.setattr(wmx.ops.deploy, "converge_drifted", lambda *a: None)
    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    if drilled:
        with pytest.raises(wmx.errors.WmxError, match="could not deploy the drill host"):
            drill.deploy_drill_host(site, site.topology.hosts[0], console=console)
        assert given["synapse_older_allowed"] is True
    else:
        assert not wmx.ops.deploy.deploy_site(site, console=console).ok
        assert "synapse_older_allowed" not in given
    assert given["wmx_build_dir"]
