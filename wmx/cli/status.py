"""`wmx status`: one screen per site: hosts, services, certificate, backups, alerts."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.common import JsonOutput, TableOrJson, open_site


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
    from wmx.status.present import status_command

    site = open_site(ctx)
    status_command(site, output, watch, interval, lambda: last_record(site.paths.state))
