"""Show a run while it happens: a live Rich view on a terminal, plain lines elsewhere.

On a terminal a spinner line names the current play and task with per-host counts
beneath it, and lines worth keeping (changes, failures, warnings, diffs) scroll above
it. Anywhere else (CI logs, a pipe, a captured Console) there is no live region: one
plain line per play and task start, plus the same lines worth keeping.

With ``verbose`` Ansible's own text (already scrubbed of anything ``no_log`` hid)
replaces wmx's lines, since it says the same things at greater length.

Every piece of Ansible-sourced text is printed as a :class:`rich.text.Text`, never as
markup, so brackets in task names or output cannot restyle or hide anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from wmx.run.events import (
    AnsibleOutput,
    ControllerMessage,
    FileDiff,
    HostOutcome,
    Note,
    PlayStarted,
    RunTracker,
    TaskStarted,
)

LIVE_HOST_ROWS = 12
_OUTCOME_STYLES = {
    "changed": "yellow",
    "failed": "bold red",
    "unreachable": "bold red",
    "ignored": "dim",
}


def _first_line(message: str | None) -> str:
    return (message or "").split("\n", 1)[0]


def diff_text(text: str) -> Text:
    """Ansible's unified diff with the usual colours, indented under its header."""
    styled = Text()
    for line in text.rstrip("\n").split("\n"):
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        styled.append("    " + line + "\n", style=style)
    styled.rstrip()
    return styled


def note_lines(note: Note, *, plain: bool, verbose: bool, diff: bool) -> list[RenderableType]:
    """The scrolling lines for one note (empty when the note only feeds the live view)."""
    if isinstance(note, AnsibleOutput):
        return [Text(note.text)] if verbose else []
    if verbose:
        # Ansible's own text already carries plays, tasks, results and diffs.
        return []
    if isinstance(note, PlayStarted):
        return [Text(f"PLAY {note.name}", style="bold")]
    if isinstance(note, TaskStarted):
        return [Text(f"{'HANDLER' if note.handler else 'TASK'} {note.name}")] if plain else []
    if isinstance(note, HostOutcome):
        style = _OUTCOME_STYLES.get(note.outcome)
        if style is None:
            return []
        line = Text(f"  {note.outcome:<11} {note.host}  {note.task}", style=style)
        if note.message:
            line.append(f": {_first_line(note.message)}")
        return [line]
    if isinstance(note, FileDiff):
        if not diff:
            return []
        return [Text(f"  diff        {note.host}  {note.task}", style="bold"), diff_text(note.text)]
    if isinstance(note, ControllerMessage):
        style = "bold red" if note.level == "error" else "yellow"
        return [Text(f"{note.level}: {note.text}", style=style)]
    return []


class RunDisplay:
    """Base for the two displays; ``lock`` guards the tracker against the refresh thread."""

    plain = True

    def __init__(self, console: Console, tracker: RunTracker, *, verbose: bool, diff: bool) -> None:
        self.console = console
        self.tracker = tracker
        self.verbose = verbose
        self.diff = diff
        self.lock = threading.RLock()

    def __enter__(self) -> RunDisplay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    def show(self, notes: Sequence[Note]) -> None:
        for note in notes:
            for line in note_lines(note, plain=self.plain, verbose=self.verbose, diff=self.diff):
                self.console.print(line, highlight=False, soft_wrap=True)

    def say(self, message: str, style: str = "") -> None:
        """A line from wmx itself (not from Ansible), e.g. that a run is being stopped."""
        self.console.print(Text(message, style=style), highlight=False)


class PlainDisplay(RunDisplay):
    """For consoles that are not terminals: append-only lines, nothing redrawn."""

    plain = True


class LiveDisplay(RunDisplay):
    """For terminals: a spinner with the current play, task and per-host counts."""

    plain = False

    def __init__(self, console: Console, tracker: RunTracker, *, verbose: bool, diff: bool) -> None:
        super().__init__(console, tracker, verbose=verbose, diff=diff)
        self._spinner = Spinner("dots", style="cyan")
        self._task_started = time.monotonic()
        self._task_seen: str | None = None
        # transient: the live region is a progress indicator; the recap replaces it.
        self._live = Live(self, console=console, refresh_per_second=8, transient=True)

    def __enter__(self) -> LiveDisplay:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.stop()

    def show(self, notes: Sequence[Note]) -> None:
        with self.lock:
            if self.tracker.task != self._task_seen:
                self._task_seen = self.tracker.task
                self._task_started = time.monotonic()
        super().show(notes)

    def __rich__(self) -> RenderableType:
        with self.lock:
            return self._render()

    def _render(self) -> RenderableType:
        elapsed = int(time.monotonic() - self._task_started)
        status = Text()
        if self.tracker.play:
            status.append(self.tracker.play, style="bold")
            status.append("  >  ", style="dim")
        status.append(self.tracker.task or "starting ansible-playbook…")
        status.append(f"  {elapsed // 60}:{elapsed % 60:02d}", style="dim")
        heading = Table.grid(padding=(0, 1))
        heading.add_row(self._spinner, status)
        if not self.tracker.live:
            return heading

        hosts = Table(box=None, padding=(0, 2), show_edge=False, pad_edge=False)
        hosts.add_column("host", style="bold")
        for column in ("ok", "changed", "failed", "skipped", "unreachable"):
            hosts.add_column(column, justify="right")
        rows = sorted(self.tracker.live.items())
        for host, counts in rows[:LIVE_HOST_ROWS]:
            hosts.add_row(
                host,
                str(counts.ok),
                Text(str(counts.changed), style="yellow" if counts.changed else ""),
                Text(str(counts.failed), style="bold red" if counts.failed else ""),
                str(counts.skipped),
                Text(str(counts.unreachable), style="bold red" if counts.unreachable else ""),
            )
        if len(rows) > LIVE_HOST_ROWS:
            hosts.add_row(Text(f"… {len(rows) - LIVE_HOST_ROWS} more hosts", style="dim"))
        return Group(heading, hosts)


def run_display(console: Console, tracker: RunTracker, *, verbose: bool, diff: bool) -> RunDisplay:
    """The display that suits ``console``: live on a terminal, plain lines otherwise."""
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveDisplay(console, tracker, verbose=verbose, diff=diff)
    return PlainDisplay(console, tracker, verbose=verbose, diff=diff)
