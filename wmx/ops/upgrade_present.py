"""How `wmx upgrade` shows its plans and outcomes to people: each part's plan with its
checks, a rehearsal's verdict, and the progress lines of a run (on stderr, so that
stdout keeps the result). Scripts get the plans' and results' `as_json()`.

Each `wmx upgrade` command's whole sequence is here too (the part it names, the question
before a rollback, the run, the line saying what runs now): the command only parses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from wmx.errors import InputError
from wmx.present import answer, confirm, console, err_console, known

if TYPE_CHECKING:
    from wmx.ops.upgrade_overview import Overview
    from wmx.ops.upgrade_parts import PartPlan
    from wmx.ops.upgrade_plan import Check, UpgradePlan
    from wmx.ops.upgrade_rehearse import Rehearsal
    from wmx.site import Site

DATABASE_RULES = {
    "keeps": "going back keeps the database (the old release reads it)",
    "dump": "going back needs the pre-upgrade dump (the new schema passes what the "
    "old release reads)",
}


def say(text: str) -> None:
    """A step of a running upgrade, as a dim line on stderr."""
    err_console.print(f"[dim]·[/dim] {escape(text)}")


def running_words(running: str | None, checks: Iterable[Check]) -> str:
    """What runs: the release, or why none is named (the host was not reached, or wmx
    installed nothing there yet)."""
    if any(c.what == "reach" and not c.ok for c in checks):
        return known(running, "unknown (the host was not reached)")
    return known(running, "nothing yet (not deployed)")


def show_checks(checks: Iterable[Check], warnings: Sequence[str] = ()) -> None:
    """✓ or ✗ per check with its host and detail (= when a part is at its target already),
    then the warnings. A detail that starts with its host's name has it once; the same
    line twice (two checks of one host that failed alike) is shown once."""
    shown: set[str] = set()
    for check in checks:
        detail = check.detail.removeprefix(f"{check.host}: ")
        # A detail that starts "HOST (ADDRESS) …" names its host already.
        said = detail if detail.startswith(f"{check.host} (") else f"{check.host}: {detail}"
        if check.what == "target":  # already at the target: nothing to do
            line = f"= {escape(said)}: nothing to do"
        else:
            mark = "[green]✓[/green]" if check.ok else "[bold red]✗[/bold red]"
            line = f"{mark} {escape(said)}"
        if line not in shown:
            shown.add(line)
            console.print(line)
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")


def show_plan(plan: UpgradePlan) -> None:
    """Synapse: the release that runs and the target, the schema change and whether going
    back keeps the database, what the target needs, then the checks."""
    old = plan.schema_from
    running = running_words(plan.running, plan.checks)
    console.print(
        f"Synapse: runs {escape(running)} (wmx.yaml: {escape(plan.configured)}) "
        f"→ {escape(plan.target)}"
    )
    schema = f"{old.version}/{old.compat}" if old else "unknown (no running release known)"
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
    running = running_words(plan.running, plan.checks)
    configured = known(plan.configured, "not set")
    target = known(plan.target, "unknown (the host was not reached)")
    console.print(
        f"{plan.component} on {escape(plan.host)}: runs {escape(running)} "
        f"(wmx.yaml: {escape(configured)}) → {escape(target)}{latest}"
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
            f"{escape(known(record.from_version, 'none before'))} → "
            f"{escape(record.to_version)} {escape(verdict)}; "
            f"migrations {_seconds(record.migration_s)}, outage {_seconds(record.outage_s)}"
        )
    else:
        console.print(f"[bold red]rehearsal failed:[/bold red] {escape(result.failure)}")


def _seconds(value: float | None) -> str:
    """A time a run measured, or words when it stopped before measuring it."""
    return known(None if value is None else f"{value} s", "not measured")


def absolute(archive: str | None) -> str | None:
    """--archive as an absolute path (wmx.yaml keeps it; relative to where wmx runs)."""
    return str(Path(archive).expanduser().resolve()) if archive else None


def check_options(
    command: str, part: str | None, to: str | None, sha256: str | None, archive: str | None
) -> None:
    """Before the site is read: --to, --sha256 and --archive name one part's release (`wmx
    upgrade plan` wants --component with them), and Synapse has no archive. (An empty
    one, `--to "$V"` with V unset, never reaches here: wmx.present_usage refuses it.)"""
    if command == "plan" and part is None and (to or sha256 or archive):
        raise InputError("--to, --sha256 and --archive name one part's release: add --component")
    if command == "apply" and part == "synapse" and (sha256 or archive):
        raise InputError("--sha256 and --archive are for --component web-client")


def plan_command(
    site: Site,
    only: str | None,
    to: str | None,
    sha256: str | None,
    archive: str | None,
    output: str,
) -> None:
    """`wmx upgrade plan`: every part's plan (or `only`'s); exit status 1 when a check fails."""
    from wmx.ops.upgrade_overview import plan_all

    overview = plan_all(site, only, to, sha256, absolute(archive))
    answer(output, overview.as_json, lambda: show_overview(overview), overview.ok)


def apply_command(
    site: Site,
    component: str,
    to: str | None,
    sha256: str | None,
    archive: str | None,
    gate_timeout: int,
) -> None:
    """`wmx upgrade apply`: Synapse (with its workers) or another part, then what runs now."""
    if component != "synapse":
        from wmx.ops.upgrade_parts import apply_part, plan_part

        path = absolute(archive)
        plan = plan_part(site, component, to, sha256, path)
        done = apply_part(
            site, plan, sha256, say, console=err_console, gate_timeout=gate_timeout, archive=path
        )
        was = known(done.from_version, "none before")
        console.print(
            f"{component} {escape(done.to_version)} runs (was {escape(was)}); {escape(done.detail)}"
        )
        return
    from wmx.ops.upgrade import apply_upgrade

    record = apply_upgrade(site, to, say, gate_timeout=gate_timeout)
    was = known(record.from_version, "none before")
    console.print(
        f"Synapse {escape(record.to_version)} runs (was {escape(was)}); "
        f"outage {record.outage_s} s; dump {escape(str(record.dump))}"
    )


def rollback_command(site: Site, component: str, yes: bool) -> None:
    """`wmx upgrade rollback`: what is lost, the question (unless `yes`), the way back."""
    if component != "synapse":
        from wmx.ops.upgrade_parts import plan_part_rollback, rollback_part

        applied = plan_part_rollback(site, component)
        console.print(
            f"Back from {component} {escape(known(applied['to_version'], 'unknown'))} to "
            f"{escape(known(applied['from_version'], 'none (nothing ran before)'))}; "
            "lost: nothing (it keeps no data of its own)"
        )
        confirm("Go on?", yes=yes)
        done = rollback_part(site, component, applied, say)
        console.print(f"{component} {escape(done.to_version)} runs again")
        return
    from wmx.ops.upgrade import plan_rollback, rollback

    plan = plan_rollback(site)
    console.print(
        f"Back from Synapse {escape(plan.from_version)} to {escape(plan.to_version)}; "
        f"lost: {escape(plan.loss())}"
    )
    confirm("Go on?", yes=yes)
    record = rollback(site, plan, say)
    console.print(f"Synapse {escape(record.to_version)} runs again; outage {record.outage_s} s")


def rehearse_command(site: Site, to: str | None, on: str | None, output: str) -> None:
    """`wmx upgrade rehearse`: the upgrade on a restored copy; exit status 1 when it fails."""
    from wmx.backup.progress import steps_display
    from wmx.ops.upgrade_rehearse import rehearse_upgrade

    result = rehearse_upgrade(
        site, to=to, on=on, console=err_console, steps=lambda: steps_display(err_console), say=say
    )
    answer(output, result.as_json, lambda: show_rehearsal(result), result.ok)


def os_command(site: Site, host: str, yes: bool) -> None:
    """`wmx upgrade os`: the checks (exit status 1 when one fails), then the steps said, or
    (with `yes`) run."""
    from wmx.ops import upgrade_os as ops

    plan = ops.plan_os(site, host)
    show_checks(plan.checks)
    if not plan.ok:
        raise typer.Exit(1)
    if not yes:
        console.print(
            f"Would move {escape(plan.host)} to Debian {escape(plan.target)}: backup, sources, "
            "full upgrade, reboot, PostgreSQL, converge, gate (add --yes)."
        )
        return
    console.print(escape(ops.apply_os(site, plan, say, err_console)))


def postgresql_command(site: Site, yes: bool, drop_old: bool) -> None:
    """`wmx upgrade postgresql`: the clusters, then what would be done, or (with `yes`) done."""
    from wmx.ops import upgrade_postgresql as ops

    plan = ops.plan_postgresql(site)
    clusters = ", ".join(
        f"{c.version}/{c.name} port {c.port} {'online' if c.online else 'down'}"
        for c in plan.clusters
    )
    console.print(f"{escape(plan.host)} (Debian {escape(plan.release)}): {escape(clusters)}")
    if drop_old:
        old = ", ".join(f"{c.version}/{c.name}" for c in plan.old) or "none"
        if not yes:
            console.print(f"Would drop the old cluster(s): {escape(old)} (add --yes).")
            return
        dropped = ops.drop_old(site, plan, say)
        console.print(f"Dropped {escape(', '.join(dropped))}.")
    elif not plan.needed:
        console.print(
            f"PostgreSQL {escape(plan.current.version)} is what Debian {escape(plan.release)} "
            "ships: nothing to do."
        )
    elif not yes:
        console.print(
            f"Would move {escape(plan.current.version)}/main to PostgreSQL "
            f"{escape(plan.target)} (Synapse stopped meanwhile; add --yes)."
        )
    else:
        console.print(escape(ops.apply_postgresql(site, plan, say)))
