"""How commands show results: tables and records for people, JSON or YAML for scripts,
listings printed page by page as they arrive, and live status lines.

Everything a server or a user wrote (display names, room names, topics, report reasons,
ids) is shown as plain text, never read as Rich markup: table cells are `Text` objects,
and a sentence that quotes such a value passes it through `esc` first.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import typer
from rich.cells import cell_len
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from wmx.cli.common import OutputFormat, console, print_json, print_yaml
from wmx.errors import WmxError

S = TypeVar("S", bound=Mapping[str, Any])


def esc(value: Any) -> str:
    """A value from a server or a user, made safe to put inside a Rich markup string."""
    return escape(str(value))


def when(ms: Any) -> str:
    """A Matrix millisecond timestamp in local time, to the minute."""
    if not isinstance(ms, int | float) or ms <= 0:
        return "never"
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M")


def yes_no(value: Any) -> str:
    return "yes" if value else ""


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]

    @classmethod
    def key(cls, header: str, name: str, fmt: Callable[[Any], str] | None = None) -> Column:
        def get(row: Any) -> Any:
            value = row.get(name) if isinstance(row, Mapping) else row
            return fmt(value) if fmt else value

        return cls(header, get)


def cell(value: Any) -> Text:
    """A table cell: plain text whatever it holds (no markup, no highlighting)."""
    if value is None:
        return Text("")
    if isinstance(value, bool):
        return Text(yes_no(value))
    return Text(str(value))


def emit_data(data: Any, output: OutputFormat) -> None:
    if output is OutputFormat.yaml:
        print_yaml(data)
    else:
        print_json(data)


def _table(columns: Sequence[Column], widths: Sequence[int] | None = None) -> Table:
    table = Table(show_edge=False, header_style="bold", show_header=widths is None)
    for index, column in enumerate(columns):
        width = widths[index] if widths else None
        table.add_column(column.header, overflow="fold", width=width)
    return table


def emit_rows(
    rows: Sequence[Any],
    output: OutputFormat,
    columns: Sequence[Column],
    *,
    total: int | None = None,
    empty: str = "nothing to show",
    data: Any = None,
) -> None:
    """A listing: a table, or the whole objects (`data`, else the rows) as JSON/YAML."""
    if output is not OutputFormat.table:
        emit_data(data if data is not None else list(rows), output)
        return
    if not rows:
        console.print(f"[dim]{esc(empty)}[/]")
        return
    table = _table(columns)
    for row in rows:
        table.add_row(*(cell(column.value(row)) for column in columns))
    console.print(table)
    if total is not None and total > len(rows):
        console.print(f"[dim]{len(rows)} of {total} shown; --limit shows more[/]")


class Pages(Protocol):
    """A listing that arrives one page at a time (wmx.admin.http.PageStream)."""

    total: int | None
    count: int

    def __iter__(self) -> Iterator[list[Any]]: ...


def emit_pages(
    pages: Pages, output: OutputFormat, columns: Sequence[Column], *, empty: str
) -> None:
    """A listing printed as its pages arrive: table rows under one header (the columns
    keep the widths of the first page), or one JSON array / YAML list written item by
    item, the same document `emit_rows` would have printed."""
    if output is OutputFormat.json:
        _json_items(pages)
    elif output is OutputFormat.yaml:
        _yaml_items(pages)
    else:
        _table_pages(pages, columns, empty)


def _json_items(pages: Iterable[list[Any]]) -> None:
    opening = "["
    for page in pages:
        chunk = ",".join(
            "\n" + textwrap.indent(json.dumps(item, indent=2, sort_keys=True, default=str), "  ")
            for item in page
        )
        typer.echo(opening + chunk, nl=False)
        opening = ","
    typer.echo("[]" if opening == "[" else "\n]")


def _yaml_items(pages: Iterable[list[Any]]) -> None:
    # A YAML list written one page at a time is still one list.
    printed = False
    for page in pages:
        print_yaml(page)
        printed = True
    if not printed:
        print_yaml([])


def _table_pages(pages: Pages, columns: Sequence[Column], empty: str) -> None:
    widths: list[int] | None = None
    for page in pages:
        rows = [[cell(column.value(row)) for column in columns] for row in page]
        if widths is None:
            widths = [
                max([cell_len(column.header), *(cell_len(r[i].plain) for r in rows)])
                for i, column in enumerate(columns)
            ]
            table = _table(columns)
            for index, column in enumerate(table.columns):
                column.width = widths[index]
        else:
            table = _table(columns, widths)
        for row_cells in rows:
            table.add_row(*row_cells)
        console.print(table)
    if not pages.count:
        console.print(f"[dim]{esc(empty)}[/]")
    elif pages.total is not None and pages.total > pages.count:
        console.print(f"[dim]{pages.count} of {pages.total} shown; --limit shows more[/]")


def emit_record(record: Mapping[str, Any], output: OutputFormat, fields: Sequence[Column]) -> None:
    """One object: `field  value` lines, or the whole object as JSON/YAML."""
    if output is not OutputFormat.table:
        emit_data(record, output)
        return
    table = Table(show_header=False, show_edge=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for column in fields:
        table.add_row(column.header, cell(column.value(record)))
    console.print(table)


def emit_done(output: OutputFormat, message: str, data: Mapping[str, Any]) -> None:
    """The result of a change: a sentence for people (Rich markup: quote values with
    `esc`), an object for scripts."""
    if output is OutputFormat.table:
        console.print(message)
    else:
        emit_data(dict(data), output)


def emit_results(
    results: Sequence[Mapping[str, Any]],
    output: OutputFormat,
    target: Column,
    *,
    ok: str,
    empty: str = "nothing to show",
) -> None:
    """A table of each target's `result`; exit 1 unless every result is `ok`."""
    emit_rows(results, output, [target, Column.key("result", "result")], empty=empty)
    if any(r["result"] != ok for r in results):
        raise typer.Exit(1)


@contextmanager
def status_line(start: str) -> Iterator[Callable[[str], None]]:
    """A live status line on a terminal (nothing otherwise); yields its updater."""
    if not console.is_terminal:
        yield lambda _text: None
        return
    with console.status(esc(start)) as status:
        yield lambda text: status.update(esc(text))


def follow_task(
    what: str,
    poll: Callable[[], S],
    *,
    describe: Callable[[S], str] | None = None,
    timeout: float = 3600.0,
) -> S:
    """Wait for a Synapse background task with a live status line; return its last state."""
    from wmx.admin.tasks import wait_for_task

    with status_line(f"{what}: starting…") as update:

        def show(state: S) -> None:
            update(f"{what}: {describe(state) if describe else state.get('status', '')}")

        return wait_for_task(poll, what=what, on_update=show, timeout=timeout)


def fail_unless_complete(what: str, state: Mapping[str, Any]) -> None:
    if state.get("status") != "complete":
        raise WmxError(f"{what} failed: {state.get('error') or state.get('status')}")
