"""The walk's slots (wmx.ops.deploy_plan.play_order, play_vars) and what makes a step
converge again: a role with nothing to verify gets no slot, a step keeps its slot while
any host runs it, and a changed shared role converges every step."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.unit.test_ops_deploy_plan import _build, _deploy_and_record, digests
from wmx.ops.deploy_plan import (
    PlaybookDigests,
    plan_host,
    play_order,
    play_vars,
    record_converged,
)
from wmx.resources import data_dir

__all__ = ["digests"]  # the fixture, for pytest


def test_a_verify_without_tasks_gets_no_slot_in_the_walk(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    # The IRC bridge's role has no tasks/verify.yml: its service is all there is to check,
    # and site.yml checks it before the walk (wmx_verify_units).
    _build(tmp_path / "build", "h")
    _deploy_and_record(tmp_path, digests)
    again = plan_host("h", tmp_path / "build" / "h", tmp_path / "deployed" / "h", digests)
    assert "irc_bridge" in again.roles_doing("verify")
    assert again.nothing_to_verify >= {"irc_bridge"} and "synapse" not in again.nothing_to_verify
    slots = play_vars(again, again.steps)["wmx_plan"]
    assert slots[2] is None and slots[3] == {"role": "synapse", "action": "verify"}
    # The first deploy converges it as before.
    first = plan_host("h", tmp_path / "build" / "h", tmp_path / "fresh" / "h", digests)
    assert play_vars(first, first.steps)["wmx_plan"][2] == {
        "role": "irc_bridge",
        "action": "converge",
    }


def test_a_changed_shared_role_converges_every_step(tmp_path: Path) -> None:
    # A shared role (units, rendered_files, …) is part of every component role's steps:
    # a wmx whose shared role changed must converge them all, as a changed site.yml does.
    playbooks = tmp_path / "playbooks"
    shutil.copytree(data_dir("playbooks"), playbooks)
    _build(tmp_path / "build", "h")
    before = plan_host(
        "h", tmp_path / "build" / "h", tmp_path / "d" / "h", PlaybookDigests(playbooks)
    )
    units = playbooks / "roles" / "units" / "library" / "wmx_units.py"
    units.write_text(units.read_text() + "\n# changed\n")
    after = plan_host(
        "h", tmp_path / "build" / "h", tmp_path / "d" / "h", PlaybookDigests(playbooks)
    )
    assert all(after.digests[k] != before.digests[k] for k in before.digests)
    # A component's own role changes its own steps only.
    converge = playbooks / "roles" / "synapse" / "tasks" / "converge.yml"
    converge.write_text(converge.read_text() + "\n# changed\n")
    last = plan_host(
        "h", tmp_path / "build" / "h", tmp_path / "d" / "h", PlaybookDigests(playbooks)
    )
    changed = {k for k in after.digests if last.digests[k] != after.digests[k]}
    assert changed == {"synapse:converge"}


def test_a_step_keeps_its_slot_while_any_host_runs_it(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    # Two hosts of one plan: h1 deployed before (it verifies), h2 new (it converges).
    # The IRC bridge has nothing to verify: its slot stays for h2's converge alone, and
    # goes once both only verify.
    for host in ("h1", "h2"):
        _build(tmp_path / "build", host)
    h1 = plan_host("h1", tmp_path / "build" / "h1", tmp_path / "deployed" / "h1", digests)
    record_converged(tmp_path / "deployed" / "h1", h1)
    again = plan_host("h1", tmp_path / "build" / "h1", tmp_path / "deployed" / "h1", digests)
    new = plan_host("h2", tmp_path / "build" / "h2", tmp_path / "deployed" / "h2", digests)
    order = play_order([again, new])
    assert "irc_bridge:converge" in [s.key for s in order]
    slots = [play_vars(p, order)["wmx_plan"] for p in (again, new)]
    bridge = [s.key for s in order].index("irc_bridge:converge")
    assert slots[0][bridge] is None
    assert slots[1][bridge] == {"role": "irc_bridge", "action": "converge"}
    record_converged(tmp_path / "deployed" / "h2", new)
    both = [
        plan_host(h, tmp_path / "build" / h, tmp_path / "deployed" / h, digests)
        for h in ("h1", "h2")
    ]
    kept = [s.key for s in play_order(both)]
    assert "irc_bridge:converge" not in kept and "synapse:converge" in kept
