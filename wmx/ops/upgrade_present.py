"""How `wmx upgrade` shows its plans and outcomes to people: each part's plan with its
checks, a rehearsal's verdict, and the progress lines of a run (on stderr, so that
stdout keeps the result). Scripts get the plans' and results' `as_json()`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rich.markup import escape

from wmx.present import console, err_console

if TYPE_CHECKING:
    from wmx.ops.upgrade_overview import Overview
    from wmx.ops.upgrade_parts import PartPlan
    from wmx.ops.upgrade_plan import Check, UpgradePlan
    from wmx.ops.upgrade_rehearse import Rehearsal

DATABASE_RULES = {
    "keeps": "going back keeps the database (the old release reads it)",
    "dump": "going back needs the pre-upgrade dump (the new schema passes what the "
    "old release reads)",
}


def say(text: str) -> None:
    """A step of a running upgrade, as a dim line on stderr."""
    err_console.print(f"[dim]·[/dim] {escape(text)}")


def show_checks(checks: Iterable[Check], warnings: Sequence[str] = ()) -> None:
    """✓ or ✗ per check with its host and detail (= when a part is at its target already),
    then the warnings."""
    for check in checks:
        if check.what == "target":  # already at the target: nothing to do
            console.print(f"= {escape(check.host)}: {escape(check.detail)}: nothing to do")
            continue
        mark = "[green]✓[/green]" if check.ok else "[bold red]✗[/bold red]"
        console.print(f"{mark} {escape(check.host)}: {escape(check.detail)}")
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")


def show_plan(plan: UpgradePlan) -> None:
    """Synapse: the release that runs and the target, the schema change and whether going
    back keeps the database, what the target needs, then the checks."""
    old = plan.schema_from
    console.print(
        f"Synapse: runs {escape(str(plan.running))} (wmx.yaml: {escape(plan.configured)}) "
        f"→ {escape(plan.target)}"
    )
    schema = f"{old.version}/{old.compat}" if old else "unknown"
    console.print(
        f"schema (version/compat): {schema} → {plan.schema_to.version}/{plan.schema_to.compat}: "
        f"{DATABASE_RULES[plan.database_rule]}"
    )
    console.print(
        f"needs: Python {escape(plan.requires_python or 'any')}, PostgreSQL ≥ "
        f"{plan.postgres_min or 'any'}; tested with {', '.join(plan.tested)}; "
        f"newest on PyPI {escape(plan.latest)}"
    )
    if plan.worker_hosts:
        where = "; ".join(f"{h}: {', '.join(w)}" for h, w in plan.worker_hosts.items())
        console.print(
            f"workers (installed beside, stopped before the main process, switched, started "
            f"after its gate, each checked): {escape(where)}"
        )
    show_checks(plan.checks, plan.warnings)


def show_part_plan(plan: PartPlan) -> None:
    """The IRC bridge or the web client: the release that runs and the target, the checks."""
    latest = f"; newest on PyPI {escape(plan.latest)}" if plan.latest else ""
    console.print(
        f"{plan.component} on {escape(plan.host)}: runs {escape(str(plan.running))} "
        f"(wmx.yaml: {escape(plan.configured)}) → {escape(plan.target)}{latest}"
    )
    show_checks(plan.checks, plan.warnings)


def show_overview(overview: Overview) -> None:
    """Each part's plan, a blank line between two."""
    from wmx.ops.upgrade_plan import UpgradePlan

    for index, plan in enumerate(overview.plans.values()):
        if index:
            console.print()
        if isinstance(plan, UpgradePlan):
            show_plan(plan)
        else:
            show_part_plan(plan)


def show_rehearsal(result: Rehearsal) -> None:
    """Whether the restore onto the spare host worked, then the upgrade's verdict there
    with its migration and outage times."""
    if not result.restore_ok:
        console.print(
            f"[bold red]the restore onto {escape(result.host)} failed:[/bold red] "
            f"{escape(result.restore_error or 'its checks differ')}"
        )
    elif result.record is not None:
        record = result.record
        verdict = "passed" if result.ok else f"failed: {result.failure}"
        console.print(
            f"rehearsal on {escape(result.host)} ({escape(result.archive)}): Synapse "
            f"{escape(record.from_version)} → {escape(record.to_version)} {escape(verdict)}; "
            f"migrations {record.migration_s} s, outage {record.outage_s} s"
        )
    else:
        console.print(f"[bold red]rehearsal failed:[/bold red] {escape(result.failure)}")
