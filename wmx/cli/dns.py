"""`wmx dns`: the DNS records the site needs, and whether they resolve today."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from wmx.cli.common import open_site, print_json


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
    from wmx.ops.dns import check_records, needed_records, stray_ipv6
    from wmx.ops.dns_present import print_zone, show_findings, show_records

    site = open_site(ctx)
    records = needed_records(site)
    if not check:
        if output == DnsFormat.json:
            print_json({"records": [r.as_dict() for r in records]})
        elif output == DnsFormat.zone:
            print_zone(records)
        else:
            show_records(records)
        return
    findings = check_records(records) + stray_ipv6(records)
    failed = [f for f in findings if not f.ok and f.record.required]
    if output == DnsFormat.json:
        print_json({"ok": not failed, "checks": [f.as_dict() for f in findings]})
    else:
        show_findings(findings, len(failed))
    if failed:
        raise typer.Exit(1)
