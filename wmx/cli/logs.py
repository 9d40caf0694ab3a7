"""`wmx logs SERVICE`: a service's journal on the host that runs it, over SSH."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.common import open_site


def logs(
    ctx: typer.Context,
    service: Annotated[
        str,
        typer.Argument(
            help="Service as `wmx status` names it (synapse, postgresql, nginx, …), or its "
            "unit name."
        ),
    ],
    host: Annotated[
        str | None, typer.Option("--host", "-H", help="Host (default: the one running it).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="From this time on, as journalctl reads it: '1 hour ago', 'today'."),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new entries until Ctrl-C.")
    ] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, help="Without --since.")] = 100,
) -> None:
    """Print a service's journal from the host that runs it (over SSH)."""
    from wmx.ops.logs import find_service, print_journal

    site = open_site(ctx)
    target, unit = find_service(site, service, host)
    raise typer.Exit(print_journal(target, unit, since, follow, lines))
