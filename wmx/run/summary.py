"""The end of a run: a recap table, one short panel per failure, and a verdict line."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from wmx.run.results import CONTROLLER, HostStats, RunResult, TaskFailure

_RECAP_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (header, HostStats field, style when non-zero)
    ("ok", "ok", "green"),
    ("changed", "changed", "yellow"),
    ("failed", "failed", "bold red"),
    ("unreachable", "unreachable", "bold red"),
    ("skipped", "skipped", "cyan"),
    ("rescued", "rescued", "magenta"),
    ("ignored", "ignored", "dim"),
)


def recap_table(stats: dict[str, HostStats], *, check: bool) -> Table:
    """Ansible's PLAY RECAP as a table, one row per host."""
    title = "Recap (check mode: nothing was changed)" if check else "Recap"
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column("host", style="bold")
    for header, _, _ in _RECAP_COLUMNS:
        table.add_column(header, justify="right")
    for host, host_stats in sorted(stats.items()):
        cells: list[Text | str] = [host]
        for _, name, style in _RECAP_COLUMNS:
            count: int = getattr(host_stats, name)
            cells.append(Text(str(count), style=style if count else "dim"))
        table.add_row(*cells)
    return table


def failure_panel(failure: TaskFailure) -> Panel:
    """Host, task and cause of one failure, in a few lines."""
    if failure.host == CONTROLLER:
        title = Text("ansible-playbook failed", style="bold")
    else:
        title = Text(failure.host, style="bold")
        title.append(" unreachable" if failure.unreachable else "")
        title.append(f" · {failure.task}")
    return Panel(Text(failure.message), title=title, title_align="left", border_style="red")


def verdict(result: RunResult) -> Text:
    """One line saying how the run ended."""
    hosts = len(result.stats)
    host_word = "host" if hosts == 1 else "hosts"
    if result.ok:
        verb = "would change" if result.check else "changed"
        return Text(
            f"✓ Run finished: {result.changed_total} {verb} on {hosts} {host_word}",
            style="bold green",
        )
    if result.status == "canceled":
        return Text("✗ Run interrupted", style="bold red")
    count = len(result.failures)
    noun = "failure" if count == 1 else "failures"
    return Text(f"✗ Run failed: {count} {noun} (ansible-playbook rc {result.rc})", style="bold red")


def print_summary(console: Console, result: RunResult) -> None:
    """Print the recap, the failure panels (if any) and the verdict."""
    parts: list[Table | Panel | Text] = []
    if result.stats:
        parts.append(recap_table(result.stats, check=result.check))
    parts.extend(failure_panel(failure) for failure in result.failures)
    parts.append(verdict(result))
    parts.append(Text(f"Run record: {result.run_dir}", style="dim"))
    console.print(Group(*parts), highlight=False)
