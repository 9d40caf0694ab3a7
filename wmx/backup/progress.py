"""How long backup work reports its progress: steps, bytes, and lines worth keeping.

The commands hand in a Rich display (`steps_display`); tests and scripts a silent one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


def size(value: Any) -> str:
    """Bytes for people (decimal units, as borg prints them); — when unknown."""
    if not isinstance(value, int | float):
        return "—"
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if amount < 1000 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} TB"


class Steps(Protocol):
    def step(self, text: str) -> None:
        """A new step begins (replaces the previous one on the display)."""

    def transferred(self, done: int, files: int | None = None) -> None:
        """Bytes (and files) processed so far in the current step."""

    def note(self, text: str) -> None:
        """A line to keep on screen after the step ends."""


class QuietSteps:
    """Reports nothing; keeps the notes (tests read them)."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.steps: list[str] = []

    def step(self, text: str) -> None:
        self.steps.append(text)

    def transferred(self, done: int, files: int | None = None) -> None:
        pass

    def note(self, text: str) -> None:
        self.notes.append(text)


class RichSteps:
    """Steps on a Rich progress line: a spinner, the step, bytes and files so far."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("Starting", detail="")

    def step(self, text: str) -> None:
        self.progress.update(self.task, description=escape(text), detail="")

    def transferred(self, done: int, files: int | None = None) -> None:
        detail = size(done) + (f", {files} files" if files else "")
        self.progress.update(self.task, detail=detail)

    def note(self, text: str) -> None:
        self.progress.console.print(f"[yellow]{escape(text)}[/]")


@contextmanager
def steps_display(console: Console) -> Iterator[RichSteps]:
    """A transient progress line on `console` (stderr, so stdout stays clean for JSON)."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("[dim]{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        # Off a terminal a transient line shows nothing but leaves an empty line behind
        # (before an error's one line, in a script's log): none is drawn there.
        disable=not console.is_terminal,
    ) as progress:
        yield RichSteps(progress)
