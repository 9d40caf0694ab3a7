"""`wmx deploy --only` records as deployed only what it ran: the components it left out
keep their last record (files, manifest entries, role vars), so `wmx diff` and doctor's
config-drift still see what is not on the hosts, and the next plain deploy records it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import wmx.ops.deploy
from wmx.ops.deploy import deploy_site, diff_site
from wmx.run import RunResult
from wmx.site import load_site
from wmx.site.deployed import replace_tree

ELEMENT_CONFIG = "etc/wmx/element/config.json"


@pytest.fixture
def faked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """No hosts: the play succeeds at once; the plans it was given are kept."""
    runs: list[dict[str, Any]] = []

    def run_playbook(**kwargs: Any) -> RunResult:
        runs.append(kwargs["host_vars"])
        return RunResult(True, 0, "successful", {}, 0, [], [], tmp_path, tmp_path)

    monkeypatch.setattr(wmx.ops.deploy, "preflight", lambda *_a: None)
    monkeypatch.setattr(wmx.ops.deploy, "run_playbook", run_playbook)
    monkeypatch.setattr(wmx.ops.deploy, "converge_drifted", lambda *_a: None)
    return runs


def _deploy(site_dir: Path, *only: str) -> None:
    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    assert deploy_site(load_site(site_dir), console=console, only=list(only)).ok


def _change_element(site_dir: Path) -> None:
    """A changed file of element's (config.json) and changed role vars of its own."""
    config = site_dir / "wmx.yaml"
    text = config.read_text()
    text = text.replace("allow_other_homeservers: false", "allow_other_homeservers: true")
    text = text.replace("  version: null\n  # SHA", '  version: "1.99.0"\n  # SHA', 1)
    text = text.replace("  sha256: null", f"  sha256: {'a' * 64}", 1)
    config.write_text(text)


def _record(site_dir: Path) -> Path:
    (host,) = [p for p in (site_dir / ".wmx" / "deployed").iterdir() if p.is_dir()]
    return host


def _manifest(host_dir: Path) -> dict[str, dict[str, Any]]:
    entries = json.loads((host_dir / ".wmx" / "manifest.json").read_text())
    return {e["src"]: e for e in entries}


def test_deploy_only_keeps_the_record_of_what_it_left_out(
    site_dir: Path, faked: list[dict[str, Any]]
) -> None:
    _deploy(site_dir)
    before = _record(site_dir)
    old_config = (before / ELEMENT_CONFIG).read_bytes()
    old_entry = _manifest(before)[ELEMENT_CONFIG]
    _change_element(site_dir)

    _deploy(site_dir, "synapse")
    (plan,) = faked[-1].values()
    assert {s["role"] for s in plan["wmx_plan"] if s} == {"synapse"}
    record = _record(site_dir)
    assert (record / ELEMENT_CONFIG).read_bytes() == old_config
    assert _manifest(record)[ELEMENT_CONFIG] == old_entry
    recorded_vars = json.loads((record / ".wmx" / "vars.json").read_text())
    assert "element_version" in recorded_vars
    assert recorded_vars["element_version"] != "1.99.0"
    changes = diff_site(load_site(site_dir))
    assert [c.dest for c in changes] == ["/" + ELEMENT_CONFIG, "role vars (.wmx/vars.json)"]
    assert '"element_version": "1.99.0"' in changes[1].diff
    assert '"synapse_' not in changes[1].diff  # synapse's own vars are the build's

    _deploy(site_dir)  # the next plain deploy converges element and records it
    (plan,) = faked[-1].values()
    assert {"role": "element", "action": "converge"} in plan["wmx_plan"]
    assert diff_site(load_site(site_dir)) == []


def test_a_first_deploy_with_only_records_none_of_the_rest(
    site_dir: Path, faked: list[dict[str, Any]]
) -> None:
    _deploy(site_dir, "synapse")
    record = _record(site_dir)
    components = {e["component"] for e in _manifest(record).values()}
    assert components == {"synapse"}
    assert not (record / ELEMENT_CONFIG).exists()
    assert not (record / "etc" / "wmx" / "element").exists()
    recorded_vars = json.loads((record / ".wmx" / "vars.json").read_text())
    assert "synapse_version" in recorded_vars
    assert not [k for k in recorded_vars if k.startswith(("element_", "nginx_"))]
    assert "acme_email" in recorded_vars  # shared vars are the build's
    changes = {c.dest for c in diff_site(load_site(site_dir))}
    assert "/" + ELEMENT_CONFIG in changes and "role vars (.wmx/vars.json)" in changes
    assert not [c for c in changes if "matrix-synapse" in c]


def test_only_with_nothing_else_changed_records_the_build(
    site_dir: Path, faked: list[dict[str, Any]]
) -> None:
    _deploy(site_dir)
    _deploy(site_dir, "synapse")
    assert diff_site(load_site(site_dir)) == []


def test_a_record_whose_preparation_fails_leaves_the_old_tree_whole(tmp_path: Path) -> None:
    source, target = tmp_path / "build", tmp_path / "deployed" / "host"
    source.mkdir()
    (source / "new").write_text("new\n")
    target.mkdir(parents=True)
    (target / "old").write_text("old\n")

    def prepare(copy: Path, old: Path) -> None:
        assert (copy / "new").is_file() and (old / "old").is_file()
        raise OSError("disk full")

    with pytest.raises(OSError):
        replace_tree(source, target, prepare=prepare)
    assert sorted(p.name for p in target.iterdir()) == ["old"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["host"]  # no copy left
