"""How `wmx doctor` shows its report to people: the checks grouped by side, ✓ or ✗ with
the detail, and under each failure what to change. Scripts get `Report.to_dict()`.
`wmx doctor`'s whole run is `doctor_command`."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from wmx.doctor import KINDS, Check, DoctorOptions, Report, run_doctor
from wmx.doctor.discovery import UNREAD
from wmx.errors import InputError
from wmx.present import console, print_json
from wmx.site.given import given

if TYPE_CHECKING:
    from wmx.site import Site

UNTRUSTED = "is not trusted:"  # wmx.doctor.fetch's words for an unverifiable chain
SIDE_TITLES = {
    "outside": "From outside, as another homeserver sees {server}",
    "inside": "From inside, as a careful operator",
}


def render_report(report: Report) -> list[Text]:
    """One line per check (✓/✗, title, detail), and under a failure what to change."""
    lines: list[Text] = []
    untrusted = any(UNTRUSTED in c.detail for c in report.failures)
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
                lines.append(
                    Text.assemble(
                        ("    fix: ", "yellow"), _fix(check, untrusted), f"  [{check.id}]"
                    )
                )
    failures = len(report.failures)
    if untrusted:
        # One cause of many failures (every HTTPS check): say it once, where it is seen.
        lines.append(Text())
        lines.append(
            Text(
                "This machine does not trust the site's certificate chain: every HTTPS check "
                "fails on it. A lab or private CA: run again with --ca-file PEM (the lab's: "
                "trust_bundle in `wmx lab status -o json`).",
                style="yellow",
            )
        )
    lines.append(Text())
    lines.append(
        Text(f"{failures} of {len(report.checks)} checks failed", style="bold red")
        if failures
        else Text(f"all {len(report.checks)} checks passed", style="bold green")
    )
    return lines


def _fix(check: Check, untrusted: bool) -> str:
    """What to change; a check that never got past an untrusted chain (or, `untrusted`,
    found the federation endpoint without the .well-known it could not read) points at
    the TLS checks' fix (its own, "run `wmx deploy`", guesses at what it could not see)."""
    stopped = UNTRUSTED in check.detail or (untrusted and UNREAD in check.detail)
    if stopped and check.kind != "tls":
        return "this machine does not trust the certificate chain: see the TLS checks' fix"
    return check.fix


def known_kinds(skip: Sequence[str]) -> Sequence[str]:
    """`--skip`'s kinds, each one wmx checks (else an input error naming the known ones)."""
    unknown = sorted(set(skip) - set(KINDS))
    if unknown:
        raise InputError(f"--skip {given(unknown[0])}: no such check (known: {', '.join(KINDS)})")
    return skip


def doctor_command(
    site: Site, tls: ssl.SSLContext, side: str, skip: Sequence[str], output: str
) -> None:
    """`wmx doctor`: the checks of `side` (outside, inside or both), shown as JSON or a
    line per check (with a status line while they run); exit status 1 when one fails."""
    options = DoctorOptions(tls=tls, outside=side != "inside", inside=side != "outside", skip=skip)
    if output == "json":
        report = run_doctor(site, options)
        print_json(report.to_dict())
    else:
        with console.status("Checking the site from outside and inside"):
            report = run_doctor(site, options)
        for line in render_report(report):
            console.print(line, soft_wrap=True)
    raise typer.Exit(0 if report.ok else 1)
