"""`wmx upgrade postgresql`: the database host's cluster to the PostgreSQL major version
its Debian release ships (wmx.ops.upgrade_postgresql)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from wmx.cli.common import console, open_site


def postgresql_command(
    ctx: typer.Context,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Do it; without it, only say what would be done."),
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
    from wmx.ops import upgrade_postgresql as ops
    from wmx.ops.upgrade_present import say

    site = open_site(ctx)
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
        return
    if not plan.needed:
        console.print(
            f"PostgreSQL {escape(plan.current.version)} is what Debian {escape(plan.release)} "
            "ships: nothing to do."
        )
        return
    if not yes:
        console.print(
            f"Would move {escape(plan.current.version)}/main to PostgreSQL "
            f"{escape(plan.target)} (Synapse stopped meanwhile; add --yes)."
        )
        return
    console.print(escape(ops.apply_postgresql(site, plan, say)))
