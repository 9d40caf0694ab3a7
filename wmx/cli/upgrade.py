"""`wmx upgrade`: plan, apply and roll back a release of Synapse, the IRC bridge or the
web client; move a host's Debian release or PostgreSQL to the next one. Each command's
sequence is wmx.ops.upgrade_present's; the workflows are wmx.ops.upgrade*."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from wmx.cli.common import JsonOutput, TableOrJson, group, open_site

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
To = Annotated[
    str | None,
    typer.Option("--to", metavar="VERSION", help="Target release (default: the one wmx pins)."),
]


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="VERSION",
            help="Target release of the part --component names (default: the one wmx pins).",
        ),
    ] = None,
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
    output: JsonOutput = TableOrJson.table,
) -> None:
    """For Synapse, the IRC bridge and the web client (each the site runs, or the one
    --component names): the release that runs and the target, what the target needs on
    each host, and for Synapse whether going back keeps the database. Exit status 1 when
    a check fails (a part already at its target is not a failure)."""
    from wmx.ops import upgrade_present

    part = component.value if component else None
    upgrade_present.check_options("plan", part, to, sha256, archive)
    upgrade_present.plan_command(open_site(ctx), part, to, sha256, archive, output)


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
    from wmx.ops import upgrade_present

    upgrade_present.check_options("apply", component.value, to, sha256, archive)
    site = open_site(ctx)
    upgrade_present.apply_command(site, component.value, to, sha256, archive, gate_timeout)


@app.command("rollback")
def rollback_command(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    component: Annotated[
        Component,
        typer.Option(
            "--component", "-c", help="What to roll back: synapse, irc-bridge or web-client."
        ),
    ] = Component.synapse,
) -> None:
    """Go back to the release before the last upgrade, saying first what is lost."""
    from wmx.ops import upgrade_present

    upgrade_present.rollback_command(open_site(ctx), component.value, yes)


@app.command("rehearse")
def rehearse_command(
    ctx: typer.Context,
    to: To = None,
    on: Annotated[
        str | None,
        typer.Option("--on", metavar="HOST", help="The spare host (default: one in no group)."),
    ] = None,
    output: JsonOutput = TableOrJson.table,
) -> None:
    """Restore the latest backup onto a spare host (as `wmx backup drill` does), upgrade
    it there with the same gate, and report the migration and outage times. The live
    server is only read. Exit status 1 when the restore or the upgrade fails."""
    from wmx.ops import upgrade_present

    upgrade_present.rehearse_command(open_site(ctx), to, on, output)


@app.command("os")
def os_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Argument(help="The inventory host to move, e.g. hs1.")],
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Do it; without it, only run the checks and say the steps."),
    ] = False,
) -> None:
    """Move one host in place from Debian 12 (bookworm) to 13 (trixie).

    First the release notes' checks on the host (free space on / and /var, no held
    package, no half-installed package, only Debian's apt sources); exit status 1 when
    one fails. With --yes: a fresh backup, apt's sources switched, a non-interactive full
    upgrade (configuration files kept; a progress line a minute), a reboot, PostgreSQL
    moved to 17 on the database host (`wmx upgrade postgresql`; the old cluster kept),
    the site converged again (the Synapse and IRC bridge venvs rebuilt for Python 3.13),
    the health gate of `wmx upgrade` and the same signing keys. A failed step stops the
    run, naming the step and the host's state (release, dpkg, failed units).

    Examples:

        wmx upgrade os hs1            # the checks and the steps
        wmx upgrade os hs1 --yes      # do it (tens of minutes)
    """
    from wmx.ops import upgrade_present

    upgrade_present.os_command(open_site(ctx), host, yes)


@app.command("postgresql")
def postgresql_command(
    ctx: typer.Context,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do it; without it, only say what would be done.")
    ] = False,
    drop_old: Annotated[
        bool,
        typer.Option(
            "--drop-old",
            help="Remove the old cluster an earlier upgrade kept (its data goes), instead "
            "of upgrading.",
        ),
    ] = False,
) -> None:
    """Move the database host's PostgreSQL cluster to the major version its Debian release
    ships (15 → 17 after a Debian 12 → 13 upgrade), with Debian's pg_upgradecluster.

    A fresh backup first (when backups are on); Synapse is stopped for the switch and
    checked after it (it answers a request that reads the database, with the same signing
    keys); the new cluster takes the old one's port, collation and configuration. The old
    cluster is kept, stopped, until `wmx upgrade postgresql --drop-old --yes`.

    Examples:

        wmx upgrade postgresql            # what would be done
        wmx upgrade postgresql --yes      # do it
        wmx upgrade postgresql --drop-old --yes
    """
    from wmx.ops import upgrade_present

    upgrade_present.postgresql_command(open_site(ctx), yes, drop_old)
