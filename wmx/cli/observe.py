"""The commands that look at a site and change nothing: `wmx status` (one screen: hosts,
services, certificate, backups, alerts), `wmx logs` (a service's journal, over SSH),
`wmx doctor` (the checks a remote homeserver and a careful operator would make) and
`wmx dns` (the records the site needs, and whether they resolve today)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wmx.cli.common import JsonOutput, TableOrJson, open_site, trust
from wmx.errors import InputError


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
    from wmx.ops.upgrade_record import last_record
    from wmx.status.present import status_command

    if watch and output is TableOrJson.json:  # a script would wait for a loop it never gets
        raise InputError("--watch refreshes the table in place; -o json answers once")
    site = open_site(ctx)
    status_command(site, output, watch, interval, lambda: last_record(site.paths.state))


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
    lines: Annotated[
        int | None,
        typer.Option(
            "--lines",
            "-n",
            min=1,
            help="How many of the newest entries (default 100; with --since, every entry since "
            "then unless given).",
        ),
    ] = None,
) -> None:
    """Print a service's journal from the host that runs it (over SSH)."""
    from wmx.ops.logs import find_service, print_journal

    site = open_site(ctx)
    target, unit = find_service(site, service, host)
    raise typer.Exit(print_journal(target, unit, since, follow, lines))


class Format(StrEnum):
    table = "table"
    json = "json"


class Side(StrEnum):
    both = "both"
    outside = "outside"
    inside = "inside"


def doctor(
    ctx: typer.Context,
    output: Annotated[
        Format,
        typer.Option(
            "--output", "-o", help="table for people (a line per check); json for scripts."
        ),
    ] = Format.table,
    only: Annotated[
        Side, typer.Option("--only", help="Run the outside or the inside checks only.")
    ] = Side.both,
    skip: Annotated[
        list[str] | None,
        typer.Option(
            "--skip",
            metavar="KIND",
            help="Leave out a kind of check (e.g. synapse-release, dns-srv); repeatable.",
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            help="Trust these CA certificates (PEM) instead of the system's: a lab or "
            "private test setup.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Check the site from outside, as another homeserver would (DNS, .well-known,
    federation endpoint, TLS, signed server keys, versions), and from inside, as a
    careful operator would (clocks, disk, memory, registration, link previews, what must
    stay private, PostgreSQL's collation, backups and the signing key in them, Synapse
    against PyPI).

    Prints a line per check with ✓ or ✗ and, for each failure, what to change.
    Exit status 0 when every check passes, 1 when one fails, 2 on a usage error.
    """
    from wmx.doctor.present import doctor_command, known_kinds

    skipped = known_kinds(skip or ())
    doctor_command(open_site(ctx), trust(ca_file), only, skipped, output)


class DnsFormat(StrEnum):
    table = "table"
    zone = "zone"
    json = "json"


def dns(
    ctx: typer.Context,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Resolve every name now (from this machine) and compare with the "
            "inventory; exit 1 when a required record is missing or points elsewhere.",
        ),
    ] = False,
    output: Annotated[
        DnsFormat,
        typer.Option(
            "--output",
            "-o",
            help="table (with the zone-file lines under it), zone (only the lines to paste "
            "into a zone file) or json.",
        ),
    ] = DnsFormat.table,
) -> None:
    """List the DNS records this site needs: A/AAAA records of every name the proxy
    serves (server name, homeserver, web client, TURN) and a CAA suggestion.

    Create them at your DNS provider before the first `wmx deploy`: the certificate can
    only be issued once every name points at the proxy host. Addresses come from the
    inventory (ansible_host, or public_ipv4 / public_ipv6 when the host is reached over
    another address).

    Examples:

        wmx dns                 # table and zone-file lines
        wmx dns -o zone         # only the zone-file lines
        wmx dns --check         # what resolves today; exit 1 on a mismatch
    """
    from wmx.ops.dns_present import dns_command

    dns_command(open_site(ctx), check, output)
