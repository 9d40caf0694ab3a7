"""`wmx upgrade plan`: every part the site runs in one call — Synapse always, the IRC
bridge when the inventory's irc_bridge group has a host, the web client when the element
group has one — or the one `--component` names.

Each part's plan is its own (wmx.ops.upgrade_plan for Synapse, wmx.ops.upgrade_parts for
the others). A part already at its target has nothing to do: in the overview that is
not a failure (its own plan refuses an apply, which would change nothing). A part whose
host or release index cannot be read is a failed check of that part; the others are
still shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wmx.errors import InputError, WmxError
from wmx.ops.upgrade_parts import PartPlan, plan_part
from wmx.ops.upgrade_plan import Check, UpgradePlan, plan_upgrade
from wmx.site import Site

SYNAPSE = "synapse"
GROUPS = {"irc-bridge": "irc_bridge", "web-client": "element"}  # the group of a part's host


def parts_of(site: Site) -> list[str]:
    """The upgradable parts the site runs, in the order they are shown."""
    parts = [SYNAPSE]
    if site.topology.first_in("irc_bridge") is not None:
        parts.append("irc-bridge")
    if site.topology.first_in("element") is not None and site.element_release is not None:
        parts.append("web-client")
    return parts


def ready(plan: UpgradePlan | PartPlan) -> bool:
    """Every check passes, but for "already at the target" (nothing to do)."""
    return all(c.ok or c.what == "target" for c in plan.checks)


@dataclass
class Overview:
    plans: dict[str, UpgradePlan | PartPlan] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(ready(plan) for plan in self.plans.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "components": {name: plan.as_json() for name, plan in self.plans.items()},
        }


def unreadable(site: Site, component: str, error: WmxError) -> PartPlan:
    """A part whose facts could not be read: one failed check saying why. What is not
    known (what runs, the target) is None: words for it are upgrade_present's."""
    host = site.topology.first_in(GROUPS[component])
    name = host.name if host is not None else "-"
    configured: str | None
    if component == "irc-bridge":
        configured = site.config.irc_bridge.version
    else:
        configured = site.element_release.version if site.element_release else None
    plan = PartPlan(component, name, configured, None, None)
    plan.checks.append(Check(name, "reach", False, str(error)))
    return plan


def plan_overview(
    site: Site,
    synapse: Callable[[Site], UpgradePlan],
    part: Callable[[Site, str], PartPlan],
    only: str | None = None,
) -> Overview:
    """The plan of `only`, or of every part the site runs. `synapse` and `part` plan one
    part each (plan_all passes the real ones, which read the hosts and PyPI)."""
    overview = Overview()
    unreached: dict[str, str] = {}  # host → why SSH did not reach it: not tried again
    for component in [only] if only else parts_of(site):
        if component == SYNAPSE:
            overview.plans[component] = plan = synapse(site)
            unreached = plan.unreached
            continue
        host = site.topology.first_in(GROUPS[component])
        if host is not None and host.name in unreached:
            overview.plans[component] = unreadable(site, component, WmxError(unreached[host.name]))
            continue
        try:
            overview.plans[component] = part(site, component)
        except WmxError as error:
            if only:
                raise
            overview.plans[component] = unreadable(site, component, error)
    return overview


def plan_all(
    site: Site,
    only: str | None = None,
    to: str | None = None,
    sha256: str | None = None,
    archive: str | None = None,
) -> Overview:
    """`wmx upgrade plan`: --to, --sha256 and --archive name one part's release, so they
    come with `only`."""
    from wmx.ops.upgrade import pypi_for

    if only == SYNAPSE and (sha256 or archive):
        raise InputError("--sha256 and --archive are for --component web-client")

    def synapse(site: Site) -> UpgradePlan:
        with pypi_for(site) as pypi:
            return plan_upgrade(site, pypi, to)

    return plan_overview(
        site, synapse, lambda site, name: plan_part(site, name, to, sha256, archive), only
    )
