"""`wmx upgrade rehearse`: the upgrade on the site's own data, on a spare host.

As `wmx backup drill` does (wmx.ops.drill): a private copy of the site that runs
everything on the spare host (under .wmx/drill/HOST/), deployed there, and the latest
archive restored onto it, streamed from the live homeserver host. Then `wmx upgrade
apply` runs against that copy — plan, dump, install beside, switch, the same health
gate, rollback if it fails — and the report says how long the migrations and the outage
took. The live server is only read: every write (the canary, the dump, wmx.yaml, the
records) goes to the spare host and the copy's own directory.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from typing import Any

from rich.console import Console

from wmx.backup.progress import Steps
from wmx.errors import InputError, WmxError
from wmx.ops.upgrade import GATE_TIMEOUT, UpgradeFailed, apply_plan, pypi_for
from wmx.ops.upgrade_plan import plan_upgrade, published
from wmx.ops.upgrade_record import UpgradeRecord
from wmx.present import checked, known
from wmx.site import Site
from wmx.site.grammars import check_release
from wmx.site.releases import DEFAULT_SYNAPSE_VERSION

Say = Callable[[str], None]


@dataclass
class Rehearsal:
    host: str
    archive: str
    restore_ok: bool
    restore_error: str = ""
    record: UpgradeRecord | None = None
    failure: str = ""

    @property
    def ok(self) -> bool:
        return self.restore_ok and self.record is not None and self.record.status == "applied"

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "host": self.host,
            "archive": self.archive,
            "restore_ok": self.restore_ok,
            "restore_error": self.restore_error,
            "upgrade": self.record.__dict__ if self.record else None,
            "failure": self.failure,
        }


def _check_release(site: Site, to: str) -> None:
    """`--to`, checked before minutes of deploy and restore onto the spare host rather
    than after them: a release number that PyPI has (a host's name, as `backup drill
    --to HOST` takes one, is said to be one)."""
    if to in {host.name for host in site.topology.hosts}:
        raise InputError(
            f"--to {to}: a host of the inventory; --to is the release to upgrade to, and "
            "the spare host is --on HOST"
        )
    checked(lambda v: check_release(v, "Synapse", DEFAULT_SYNAPSE_VERSION), to, name="--to")
    with pypi_for(site) as pypi:
        published(pypi, to)


def rehearse_upgrade(
    site: Site,
    *,
    to: str | None,
    on: str | None,
    console: Console,
    steps: Callable[[], AbstractContextManager[Steps]],
    say: Say,
    gate_timeout: float = GATE_TIMEOUT,
) -> Rehearsal:
    from wmx.ops import drill

    if to is not None:
        _check_release(site, to)
    target = drill.drill_target(site, on, "--on", "rehearsal")
    copy = drill.drill_site(site, target)
    say(f"deploying the spare host {target.name} and restoring the latest backup onto it")
    drill.deploy_drill_host(copy, target, console=console)
    with steps() as display:
        report = drill.drill(site, copy, target, repo=None, archive="latest", steps=display)
    result = Rehearsal(target.name, report.archive, report.ok, report.error)
    if not report.ok:
        return result
    with pypi_for(copy) as pypi:
        plan = plan_upgrade(copy, pypi, to)
    was = known(plan.running, "nothing (not deployed)")
    say(f"upgrading the copy on {target.name}: {was} → {plan.target}")
    try:
        result.record = apply_plan(copy, plan, say, gate_timeout=gate_timeout, backup=False)
    except UpgradeFailed as exc:
        result.failure = str(exc)
        from wmx.ops.upgrade_record import last_record

        last = last_record(copy.paths.state)
        if last:
            names = {f.name for f in fields(UpgradeRecord)}
            result.record = UpgradeRecord(**{k: v for k, v in last.items() if k in names})
    except WmxError as exc:
        result.failure = str(exc)
    return result
