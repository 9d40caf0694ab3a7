"""`wmx upgrade`: plan, apply and roll back a release of Synapse, the IRC bridge or the
web client (wmx.ops.upgrade*)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from wmx.cli.common import OutputFormat, console, err_console, group, open_site, print_json
from wmx.errors import InputError

app = group("upgrade")


class Component(StrEnum):
    synapse = "synapse"
    irc_bridge = "irc-bridge"
    web_client = "web-client"


Part = Annotated[
    Component,
    typer.Option(
        "--component",
        "-c",
        help="What to upgrade: synapse, irc-bridge (Heisenbridge) or web-client (Element/Cinny).",
    ),
]
Sha256 = Annotated[
    str | None,
    typer.Option(
        "--sha256",
        metavar="HEX",
        help="web-client only: the archive's SHA-256, for a release wmx does not pin.",
    ),
]
Archive = Annotated[
    str | None,
    typer.Option(
        "--archive",
        metavar="PATH",
        help="web-client only: a release archive on this machine (cinny-vVERSION.tar.gz or "
        "element-vVERSION.tar.gz), installed instead of a download, as web_client.archive.",
    ),
]


def _path(archive: str | None) -> str | None:
    """--archive as an absolute path (wmx.yaml keeps it; relative to where wmx runs)."""
    return str(Path(archive).expanduser().resolve()) if archive else None


To = Annotated[
    str | None,
    typer.Option("--to", metavar="VERSION", help="Target release (default: the one wmx pins)."),
]


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    to: To = None,
    component: Annotated[
        Component | None,
        typer.Option(
            "--component",
            "-c",
            help="Only this part: synapse, irc-bridge or web-client (default: every part "
            "the site runs).",
        ),
    ] = None,
    sha256: Sha256 = None,
    archive: Archive = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", help="table or json.")
    ] = OutputFormat.table,
) -> None:
    """For Synapse, the IRC bridge and the web client (each the site runs, or the one
    --component names): the release that runs and the target, what the target needs on
    each host, and for Synapse whether going back keeps the database. Exit status 1 when
    a check fails (a part already at its target is not a failure)."""
    from wmx.ops.upgrade_overview import plan_all
    from wmx.ops.upgrade_present import show_overview

    if component is None and (to or sha256 or archive):
        raise InputError("--to, --sha256 and --archive name one part's release: add --component")
    overview = plan_all(
        open_site(ctx), component.value if component else None, to, sha256, _path(archive)
    )
    if output is OutputFormat.json:
        print_json(overview.as_json())
    else:
        show_overview(overview)
    raise typer.Exit(0 if overview.ok else 1)


@app.command("apply")
def apply_command(
    ctx: typer.Context,
    to: To = None,
    gate_timeout: Annotated[
        int,
        typer.Option(
            min=10,
            metavar="SECONDS",
            help="How long the new release may take to pass the gate (schema migrations).",
        ),
    ] = 300,
    component: Part = Component.synapse,
    sha256: Sha256 = None,
    archive: Archive = None,
) -> None:
    """Back up, install the release beside the running one, switch, run the health gate;
    roll back by itself when the gate fails (exit status 1, naming the check). Synapse's
    workers move with the main process: the release installed on every host running
    one, the workers stopped first, started and checked after the main process's gate. With
    --component irc-bridge or web-client, the same for that part (no backup: neither
    keeps data of its own)."""
    from wmx.ops.upgrade import apply_upgrade
    from wmx.ops.upgrade_present import say

    if component is not Component.synapse:
        from wmx.ops.upgrade_parts import apply_part, plan_part

        site, path = open_site(ctx), _path(archive)
        plan = plan_part(site, component.value, to, sha256, path)
        done = apply_part(
            site, plan, sha256, say, console=err_console, gate_timeout=gate_timeout, archive=path
        )
        console.print(
            f"{component.value} {escape(done.to_version)} runs (was {escape(done.from_version)}); "
            f"{escape(done.detail)}"
        )
        return
    if sha256 or archive:
        raise InputError("--sha256 and --archive are for --component web-client")
    record = apply_upgrade(open_site(ctx), to, say, gate_timeout=gate_timeout)
    console.print(
        f"Synapse {escape(record.to_version)} runs (was {escape(record.from_version)}); "
        f"outage {record.outage_s} s; dump {escape(str(record.dump))}"
    )


@app.command("rollback")
def rollback_command(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    component: Part = Component.synapse,
) -> None:
    """Go back to the release before the last upgrade, saying first what is lost."""
    from wmx.ops.upgrade import plan_rollback, rollback
    from wmx.ops.upgrade_present import say

    site = open_site(ctx)
    if component is not Component.synapse:
        from wmx.ops.upgrade_parts import plan_part_rollback, rollback_part

        applied = plan_part_rollback(site, component.value)
        console.print(
            f"Back from {component.value} {escape(str(applied['to_version']))} to "
            f"{escape(str(applied['from_version']))}; lost: nothing (it keeps no data of its own)"
        )
        if not yes and not typer.confirm("Go on?", default=False):
            raise typer.Exit(1)
        done = rollback_part(site, component.value, applied, say)
        console.print(f"{component.value} {escape(done.to_version)} runs again")
        return
    plan = plan_rollback(site)
    console.print(
        f"Back from Synapse {escape(plan.from_version)} to {escape(plan.to_version)}; "
        f"lost: {escape(plan.loss())}"
    )
    if not yes and not typer.confirm("Go on?", default=False):
        raise typer.Exit(1)
    record = rollback(site, plan, say)
    console.print(f"Synapse {escape(record.to_version)} runs again; outage {record.outage_s} s")


@app.command("rehearse")
def rehearse_command(
    ctx: typer.Context,
    to: To = None,
    on: Annotated[
        str | None,
        typer.Option("--on", metavar="HOST", help="The spare host (default: one in no group)."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", help="table or json.")
    ] = OutputFormat.table,
) -> None:
    """Restore the latest backup onto a spare host (as `wmx backup drill` does), upgrade
    it there with the same gate, and report the migration and outage times. The live
    server is only read. Exit status 1 when the restore or the upgrade fails."""
    from wmx.backup.progress import steps_display
    from wmx.ops.upgrade_present import say, show_rehearsal
    from wmx.ops.upgrade_rehearse import rehearse_upgrade

    result = rehearse_upgrade(
        open_site(ctx),
        to=to,
        on=on,
        console=err_console,
        steps=lambda: steps_display(err_console),
        say=say,
    )
    if output is OutputFormat.json:
        print_json(result.as_json())
    else:
        show_rehearsal(result)
    raise typer.Exit(0 if result.ok else 1)


# Debian's side of upgrades (issue 13): in their own modules.
from wmx.cli.upgrade_os import os_command  # noqa: E402
from wmx.cli.upgrade_postgresql import postgresql_command  # noqa: E402

app.command("os")(os_command)
app.command("postgresql")(postgresql_command)
