"""`wmx doctor`: the checks a remote homeserver and a careful operator would make."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wmx.cli.common import console, open_site, print_json, trust
from wmx.errors import InputError


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
    from wmx.doctor import KINDS, DoctorOptions, run_doctor
    from wmx.doctor.present import render_report

    unknown = sorted(set(skip or ()) - set(KINDS))
    if unknown:
        raise InputError(f"--skip {unknown[0]}: no such check (known: {', '.join(KINDS)})")
    site = open_site(ctx)
    tls = trust(ca_file)
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
