"""`wmx upgrade os HOST`: one host moved in place to the next Debian release
(wmx.ops.upgrade_os)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from wmx.cli.common import console, err_console, open_site


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
    from wmx.ops import upgrade_os as ops
    from wmx.ops.upgrade_present import say, show_checks

    site = open_site(ctx)
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
