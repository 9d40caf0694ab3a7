"""`wmx status`: one screen per site: hosts, services, certificate, backups, alerts."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.common import JsonOutput, TableOrJson, console, open_site, print_json


def status(
    ctx: typer.Context,
    output: JsonOutput = TableOrJson.table,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Refresh the screen in place until Ctrl-C.")
    ] = False,
    interval: Annotated[
        int, typer.Option(min=2, help="Seconds between two refreshes with --watch.")
    ] = 10,
) -> None:
    """Show each host's services (systemd state, version, uptime), disk and memory, the
    certificate's expiry, the last backup, firing alerts and key Synapse figures.

    Reads the hosts over SSH and Prometheus/Alertmanager through SSH tunnels to the
    monitoring host. Exit status 0 when everything is healthy, 1 otherwise.
    """
    from wmx.ops.upgrade import last_record
    from wmx.status import collect_status
    from wmx.status.present import render_status, show_last_upgrade, watch_status

    site = open_site(ctx)
    if output is TableOrJson.json:
        result = collect_status(site)
        print_json({**result.to_dict(), "last_upgrade": last_record(site.paths.state)})
        raise typer.Exit(0 if result.healthy else 1)
    if not watch:
        result = collect_status(site)
        console.print(render_status(result))
        show_last_upgrade(last_record(site.paths.state))
        raise typer.Exit(0 if result.healthy else 1)
    watch_status(lambda: collect_status(site), interval)
