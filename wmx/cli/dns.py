"""`wmx dns`: the DNS records the site needs, and whether they resolve today."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from wmx.cli.common import open_site


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
    serves (server name, homeserver, web client, TURN), the optional _matrix-fed._tcp SRV
    record and a CAA suggestion.

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
