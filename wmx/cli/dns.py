"""`wmx dns`: the DNS records the site needs, and whether they resolve today."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from wmx.cli.common import console, open_site, print_json
from wmx.present import cell


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

    site = open_site(ctx)
    records = needed_records(site)
    if not check:
        if output == DnsFormat.json:
            print_json({"records": [r.as_dict() for r in records]})
        elif output == DnsFormat.zone:
            for record in records:
                typer.echo(record.zone_line())
        else:
            table = Table("name", "type", "value", "for")
            for r in records:
                optional = "" if r.required else " (optional)"
                table.add_row(cell(r.name), r.type, cell(r.value), cell(r.purpose + optional))
            console.print(table)
            console.print("\nAs zone-file lines:")
            for record in records:
                typer.echo(record.zone_line())  # unwrapped, to paste
        return
    findings = check_records(records) + stray_ipv6(records)
    failed = [f for f in findings if not f.ok and f.record.required]
    if output == DnsFormat.json:
        print_json({"ok": not failed, "checks": [f.as_dict() for f in findings]})
    else:
        table = Table("", "name", "type", "wanted", "found", "")
        for f in findings:
            mark = "[green]✓[/]" if f.ok else ("[bold red]✗[/]" if f.record.required else "!")
            table.add_row(
                mark,
                cell(f.record.name),
                f.record.type,
                cell(f.record.value),
                cell(", ".join(f.found) or "-"),
                cell(f.detail),
            )
        console.print(table)
        if failed:
            console.print(
                f"[bold red]{len(failed)} record(s) missing or wrong[/]: fix them at your DNS "
                "provider (`wmx dns -o zone` lists them); changes can take up to the old "
                "record's TTL to be seen."
            )
        else:
            console.print("[bold green]every required record resolves to the inventory's hosts[/]")
    if failed:
        raise typer.Exit(1)
