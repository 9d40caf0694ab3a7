"""How `wmx dns` shows the records a site needs and what resolves today, to people; the
zone-file lines are printed unwrapped so that they can be pasted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from wmx.ops.dns import Finding, Record, check_records, needed_records, stray_ipv6
from wmx.ops.site_warnings import placeholder_warnings
from wmx.present import answer, cell, console, err_console, esc

if TYPE_CHECKING:
    from wmx.site import Site


def print_zone(records: Sequence[Record]) -> None:
    for record in records:
        typer.echo(record.zone_line())  # unwrapped, to paste


def show_records(records: Sequence[Record]) -> None:
    """A table of the records and what each is for, then the same as zone-file lines."""
    table = Table("name", "type", "value", "for")
    for r in records:
        optional = "" if r.required else " (optional)"
        table.add_row(cell(r.name), r.type, cell(r.value), cell(r.purpose + optional))
    console.print(table)
    console.print("\nAs zone-file lines:")
    print_zone(records)


def show_findings(findings: Sequence[Finding], failed: int) -> None:
    """Each record wanted against what resolves (✓, ✗ when required, ! when optional),
    then what to do about the `failed` required ones."""
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
            f"[bold red]{failed} record(s) missing or wrong[/]: fix them at your DNS "
            "provider (`wmx dns -o zone` lists them); changes can take up to the old "
            "record's TTL to be seen."
        )
    else:
        console.print("[bold green]every required record resolves to the inventory's hosts[/]")


def dns_command(site: Site, check: bool, output: str) -> None:
    """`wmx dns`: the records (a table, zone-file lines or JSON), or with `check` what
    resolves today, exit status 1 when a required record is missing or points elsewhere."""
    records = needed_records(site)
    for warning in placeholder_warnings(site):  # on stderr: stdout keeps the records
        err_console.print(
            f"[yellow]warning:[/] {esc(warning)} (until then these records point nowhere)",
            soft_wrap=True,
        )
    if not check:
        if output == "zone":
            print_zone(records)
        else:
            data = {"records": [r.as_dict() for r in records]}
            answer(output, lambda: data, lambda: show_records(records))
        return
    findings = check_records(records) + stray_ipv6(records)
    failed = [f for f in findings if not f.ok and f.record.required]
    answer(
        output,
        lambda: {"ok": not failed, "checks": [f.as_dict() for f in findings]},
        lambda: show_findings(findings, len(failed)),
        not failed,
    )
