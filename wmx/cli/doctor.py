"""`wmx doctor`: the checks a remote homeserver and a careful operator would make."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from wmx.cli.common import console, open_site, print_json
from wmx.errors import InputError

if TYPE_CHECKING:
    from wmx.doctor import Report


class Format(StrEnum):
    table = "table"
    json = "json"


class Side(StrEnum):
    both = "both"
    outside = "outside"
    inside = "inside"


SIDE_TITLES = {
    "outside": "From outside, as another homeserver sees {server}",
    "inside": "From inside, as a careful operator",
}


def render_report(report: Report) -> list[Text]:
    """One line per check (✓/✗, title, detail), and under a failure what to change."""
    lines: list[Text] = []
    for side in ("outside", "inside"):
        checks = [c for c in report.checks if c.side == side]
        if not checks:
            continue
        if lines:
            lines.append(Text())
        lines.append(Text(SIDE_TITLES[side].format(server=report.server_name), style="bold"))
        for check in checks:
            mark = ("✓ ", "green") if check.ok else ("✗ ", "bold red")
            lines.append(Text.assemble(mark, check.title, ("  " + check.detail, "dim")))
            if not check.ok:
                lines.append(Text.assemble(("    fix: ", "yellow"), check.fix, f"  [{check.id}]"))
    failures = len(report.failures)
    lines.append(Text())
    lines.append(
        Text(f"{failures} of {len(report.checks)} checks failed", style="bold red")
        if failures
        else Text(f"all {len(report.checks)} checks passed", style="bold green")
    )
    return lines


def doctor(
    ctx: typer.Context,
    output: Annotated[
        Format, typer.Option("--output", "-o", help="table (a line per check) or json.")
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
    import ssl

    from wmx.doctor import KINDS, DoctorOptions, run_doctor

    unknown = sorted(set(skip or ()) - set(KINDS))
    if unknown:
        raise InputError(f"--skip {unknown[0]}: no such check (known: {', '.join(KINDS)})")
    site = open_site(ctx)
    try:
        tls = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (ssl.SSLError, ValueError) as exc:
        raise InputError(f"--ca-file {ca_file}: not a PEM CA bundle ({exc})") from None
    options = DoctorOptions(
        tls=tls, outside=only is not Side.inside, inside=only is not Side.outside, skip=skip or ()
    )
    if output is Format.json:
        report = run_doctor(site, options)
        print_json(report.to_dict())
    else:
        with console.status("Checking the site from outside and inside"):
            report = run_doctor(site, options)
        for line in render_report(report):
            console.print(line, soft_wrap=True)
    raise typer.Exit(0 if report.ok else 1)
