"""What an administration action works with and what it gives back.

An action (wmx.admin.actions.*) is one command's work: `action(act, …)` takes an `Act`
(the signed-in client, the site, and the question to ask before anything destructive)
and returns what to show: `Done` (a sentence for people, an object for scripts), `Rows`,
`Record`, `Paged`, `Results` (one result per target, exit 1 unless all went well) or
`Report` (wmx.present's: other commands show their results with it too).
`wmx.cli.admin_support.Cmd.run` opens the session, runs the action and shows its result
in the `--output` form asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import typer

from wmx.present import (
    Check,
    Column,
    OutputFormat,
    console,
    emit_done,
    emit_record,
    emit_results,
    emit_rows,
)
from wmx.present_pages import Pages, emit_pages

if TYPE_CHECKING:
    from wmx.admin.client import SynapseAdmin
    from wmx.admin.types import UserDetails
    from wmx.site import Site


@dataclass(frozen=True)
class Act:
    """The signed-in `admin` client, the `site`, and `ask(question)`, which returns when
    the operator agreed (or gave --yes) and stops the command otherwise."""

    admin: SynapseAdmin
    site: Site
    ask: Callable[[str], None]

    @property
    def server_name(self) -> str:
        return self.site.config.server_name

    def user(self, user_id: str) -> UserDetails:
        """An existing account's details (an unknown one is an input error, exit 2)."""
        return self.admin.users.get(user_id)

    def room(self, room: str) -> str:
        """The id of a room this homeserver knows, from its checked id or alias."""
        from wmx.admin.targets import existing_room

        return existing_room(self.admin, room)


class Shown(Protocol):
    def show(self, output: OutputFormat) -> None: ...


def _note_then_check(output: OutputFormat, note: str, check: Check | None) -> None:
    """What Done and Rows show after their answer: the note for people, then the check."""
    if note and output is OutputFormat.table:
        console.print(note)
    if check is not None:
        check()


@dataclass(frozen=True)
class Done:
    """A change: `message` for people (Rich markup, values quoted with `esc`) and `note`
    under it; `data` for scripts; then `check` (which may fail the command)."""

    message: str
    data: Mapping[str, Any]
    note: str = ""
    check: Check | None = None

    def show(self, output: OutputFormat) -> None:
        emit_done(output, self.message, self.data)
        _note_then_check(output, self.note, self.check)


@dataclass(frozen=True)
class Rows:
    """A listing: a table (and `note` under it), or the whole objects (`data`, else the
    rows) for scripts; then `check`."""

    rows: Sequence[Any]
    columns: Sequence[Column]
    empty: str = "nothing to show"
    data: Any = None
    note: str = ""
    check: Check | None = None

    def show(self, output: OutputFormat) -> None:
        emit_rows(self.rows, output, self.columns, empty=self.empty, data=self.data)
        _note_then_check(output, self.note, self.check)


@dataclass(frozen=True)
class Record:
    record: Mapping[str, Any]
    fields: Sequence[Column]
    note: str = ""  # plain text under the record, for people

    def show(self, output: OutputFormat) -> None:
        emit_record(self.record, output, self.fields)
        if self.note and output is OutputFormat.table:
            typer.echo(self.note)


@dataclass(frozen=True)
class Paged:
    """A listing shown as its pages arrive (so shown inside the session)."""

    pages: Pages
    columns: Sequence[Column]
    empty: str

    def show(self, output: OutputFormat) -> None:
        emit_pages(self.pages, output, self.columns, empty=self.empty)


@dataclass(frozen=True)
class Results:
    """One `result` per target (the `target` column); exit 1 unless each is `ok`."""

    results: Sequence[Mapping[str, Any]]
    target: Column
    ok: str
    empty: str = "nothing to show"

    def show(self, output: OutputFormat) -> None:
        emit_results(self.results, output, self.target, ok=self.ok, empty=self.empty)
