"""How `wmx doctor` shows its report to people: the checks grouped by side, ✓ or ✗ with
the detail, and under each failure what to change. Scripts get `Report.to_dict()`."""

from __future__ import annotations

from rich.text import Text

from wmx.doctor import Report

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
