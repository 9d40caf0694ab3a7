"""`wmx monitoring`: Grafana provisioning for an existing Grafana, and the SMTP password."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wmx.cli.common import StdinOption, group, open_site, store_password

app = group("monitoring")


@app.command()
def grafana(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="Where to write provisioning/ and dashboards/.", file_okay=False)
    ],
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            help="URL Grafana reaches the site's Prometheus at "
            "[default: http://MONITORING-HOST:9090, with remote scraping on]."
        ),
    ] = None,
) -> None:
    """Write Grafana provisioning files: a Prometheus datasource and wmx's dashboards
    (service overview, Synapse internals behind each alert, PostgreSQL, hosts).

    Point Grafana's `paths.provisioning` at DIRECTORY/provisioning. The datasource reads the
    basic-auth password from the environment variable WMX_PROMETHEUS_PASSWORD; the
    password itself is `prometheus_remote_password` in the site's secrets.yml.
    """
    from wmx.grafana import provision

    provision(open_site(ctx), directory, prometheus_url)


@app.command("smtp-password")
def smtp_password(ctx: typer.Context, stdin: StdinOption = False) -> None:
    """Store the alert mail relay's password (monitoring.smtp.username) in secrets.yml.

    Asked for without echo, or read from standard input: never from the command line.
    Apply with `wmx deploy --only monitoring`.
    """
    site = open_site(ctx)
    off = None if site.config.monitoring.smtp.smarthost else "monitoring.smtp.smarthost is empty"
    store_password(site, "alert_smtp_password", stdin=stdin, component="monitoring", unused=off)
