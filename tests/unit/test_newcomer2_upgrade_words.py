"""`wmx upgrade plan` says in words what is not known (a host not reached, nothing
deployed yet): no None or ? in its lines, and a host's failure once, its name once."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from wmx.errors import WmxError
from wmx.ops import upgrade_present
from wmx.ops.upgrade_overview import unreadable
from wmx.ops.upgrade_parts import PartPlan
from wmx.ops.upgrade_plan import Check, HostFacts, make_plan
from wmx.ops.upgrade_release import ReleaseFacts, Schema
from wmx.site import load_site

UNREACHABLE = "matrix: Connection to 203.0.113.10 port 22 timed out"


@pytest.fixture
def out(monkeypatch: pytest.MonkeyPatch) -> Console:
    console = Console(record=True, width=200)
    monkeypatch.setattr(upgrade_present, "console", console)
    return console


def _plan(facts: HostFacts, database: HostFacts) -> object:
    new = ReleaseFacts("1.163.2", ">=3.10", Schema(94, 84), 14)
    return make_plan("1.163.2", "1.163.2", "1.163.2", new, None, [facts], database)


def test_synapse_on_a_host_not_reached(out: Console) -> None:
    down = HostFacts("matrix", error=UNREACHABLE)
    upgrade_present.show_plan(_plan(down, down))  # type: ignore[arg-type]
    text = out.export_text()
    assert "None" not in text and "?" not in text
    assert "runs unknown (the host was not reached)" in text
    assert "matrix: matrix:" not in text
    assert text.count("port 22 timed out") == 1


def test_synapse_never_deployed(out: Console) -> None:
    facts = HostFacts("matrix", python="3.11.2")
    upgrade_present.show_plan(_plan(facts, HostFacts("matrix", postgres=15)))  # type: ignore[arg-type]
    text = out.export_text()
    assert "None" not in text
    assert "runs nothing yet (not deployed)" in text


@pytest.mark.parametrize("component", ["irc-bridge", "web-client"])
def test_part_not_reached(out: Console, component: str) -> None:
    plan = PartPlan(component, "matrix", None, None, None)
    plan.checks.append(Check("matrix", "reach", False, UNREACHABLE))
    upgrade_present.show_part_plan(plan)
    text = out.export_text()
    assert "None" not in text and "?" not in text, text
    assert "runs unknown (the host was not reached)" in text
    assert text.count("matrix: matrix") == 0


def test_unreadable_part_names_the_configured_release(site_dir: Path) -> None:
    site = load_site(site_dir)
    bridge = unreadable(site, "irc-bridge", WmxError(UNREACHABLE))
    assert bridge.configured == site.config.irc_bridge.version
    client = unreadable(site, "web-client", WmxError(UNREACHABLE))
    assert site.element_release is not None
    assert client.configured == site.element_release.version


def test_a_host_not_reached_is_tried_once(site_dir: Path, out: Console) -> None:
    from wmx.ops.upgrade_overview import plan_overview

    site = load_site(site_dir)
    host = site.topology.first_in("homeserver")
    assert host is not None
    said = f"{host.name} ({host.address}) cannot be reached over SSH: Connection timed out"
    down = HostFacts(host.name, error=said, reached=False)
    plan = _plan(down, HostFacts(host.name, error=said))

    def synapse(site: object) -> object:
        plan.unreached = {host.name: said}  # type: ignore[attr-defined]
        return plan

    def part(site: object, component: str) -> PartPlan:
        raise AssertionError(f"{component}: its host was tried again")

    overview = plan_overview(site, synapse, part)  # type: ignore[arg-type]
    assert list(overview.plans) == ["synapse", "irc-bridge", "web-client"]
    upgrade_present.show_overview(overview)
    text = out.export_text()
    assert text.count(f"✗ {said}\n") == 3 and f"{host.name}: {host.name}" not in text
