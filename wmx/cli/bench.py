"""`wmx bench`: load a test deployment and print what it sustained (docs/bench.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wmx.cli.admin_support import AdminUrl, Output
from wmx.cli.common import OutputFormat, open_site


def bench(
    ctx: typer.Context,
    users: Annotated[
        int, typer.Option("--users", "-u", help="Accounts the run creates (2-1000).")
    ] = 10,
    rooms: Annotated[
        int, typer.Option("--rooms", "-r", help="Rooms they are spread over (1 to users/2).")
    ] = 2,
    rate: Annotated[
        float, typer.Option("--rate", help="Messages a second, all senders together (up to 1000).")
    ] = 5.0,
    duration: Annotated[
        float, typer.Option("--duration", "-d", help="Seconds of sending (up to 3600).")
    ] = 20.0,
    settle: Annotated[
        float,
        typer.Option(
            help="Seconds to wait after the last send for messages still on the way (up to 600)."
        ),
    ] = 15.0,
    client_url: Annotated[
        str | None,
        typer.Option(
            "--client-url",
            help="Send the client traffic here (default: https://HOMESERVER-HOST, the public "
            "client API through nginx, as users reach it).",
            show_default=False,
        ),
    ] = None,
    direct: Annotated[
        bool,
        typer.Option(
            "--direct",
            help="Send the client traffic where the Admin API goes (the SSH tunnel to Synapse's "
            "main process, or --url), around nginx and any worker.",
        ),
    ] = False,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            help="Trust these CA certificates for the client URL (e.g. the lab's trust bundle).",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    not_a_test: Annotated[
        bool,
        typer.Option(
            "--not-a-test",
            help="Run against a server whose name is not under .test, .example, .invalid or "
            ".localhost (a staging server): it gets the accounts, rooms and load.",
        ),
    ] = False,
    url: AdminUrl = None,
    output: Output = OutputFormat.table,
) -> None:
    """Load a deployment: N users in M rooms send messages at a given rate, each timed
    from its send to its arrival in another member's /sync.

    Prints throughput, latency (p50, p95, p99) and errors, with a progress bar while it
    runs; `-o json` for scripts. The accounts and rooms are made for the run through the
    Admin API and removed after it (rooms purged, accounts deactivated and erased).
    Refuses a server whose name is not a test name unless told `--not-a-test`.

    For example `wmx bench -u 100 -r 10 --rate 50 -d 60 -o json`; against a lab site add
    `--ca-file /var/lib/wmx/lab/ca/trust.pem` (the lab's CAs). See docs/bench.md.
    """
    from wmx.bench.present import bench_command
    from wmx.bench.spec import BenchSpec

    site = open_site(ctx)
    spec = BenchSpec(users=users, rooms=rooms, rate=rate, duration=duration, settle=settle)
    bench_command(site, spec, url, client_url, direct, ca_file, not_a_test, output)
