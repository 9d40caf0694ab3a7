"""`wmx doctor`: the checks a remote homeserver and a careful operator would make."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wmx.cli.common import open_site, trust


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
    from wmx.doctor.present import doctor_command, known_kinds

    skipped = known_kinds(skip or ())
    doctor_command(open_site(ctx), trust(ca_file), only, skipped, output)
