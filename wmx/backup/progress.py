"""How long backup work reports its progress: steps, bytes, and lines worth keeping.

The commands hand in a Rich display (wmx/cli/backup.py); tests and scripts a silent one.
"""

from __future__ import annotations

from typing import Protocol


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
