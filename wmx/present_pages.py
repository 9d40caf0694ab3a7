"""Listings printed page by page as they arrive (accounts, rooms, media): table rows
under one header, one JSON array an object a line, or a YAML list, each written as its
page comes, so that 10,000 accounts start showing at once and never sit in memory."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import typer
from rich.cells import cell_len, chop_cells
from rich.text import Text

from wmx.present import (
    TERMINAL_CONTROLS,
    Column,
    OutputFormat,
    console,
    esc,
    print_yaml,
    yes_no,
)


class Pages(Protocol):
    """A listing that arrives one page at a time (wmx.admin.http.PageStream)."""

    total: int | None
    count: int

    def __iter__(self) -> Iterator[list[Any]]: ...


def emit_pages(
    pages: Pages, output: OutputFormat, columns: Sequence[Column], *, empty: str
) -> None:
    """A listing printed as its pages arrive: table rows under one header (the columns
    keep the widths of the first page), or one JSON array (an object a line) or YAML
    list written page by page."""
    if output is OutputFormat.json:
        _json_items(pages)
    elif output is OutputFormat.yaml:
        _yaml_items(pages)
    else:
        _table_pages(pages, columns, empty)


def _json_items(pages: Iterable[list[Any]]) -> None:
    # One array, one object a line: valid JSON for any parser, lines for grep, and the C
    # encoder (an indented dump is pure Python: seconds for 10,000 accounts).
    opening = "[\n"
    for page in pages:
        chunk = ",\n".join(json.dumps(item, sort_keys=True, default=str) for item in page)
        typer.echo(opening + chunk, nl=False)
        opening = ",\n"
    typer.echo("[]" if opening == "[\n" else "\n]")


def _yaml_items(pages: Iterable[list[Any]]) -> None:
    # A YAML list written one page at a time is still one list.
    printed = False
    for page in pages:
        print_yaml(page)
        printed = True
    if not printed:
        print_yaml([])


def _table_pages(pages: Pages, columns: Sequence[Column], empty: str) -> None:
    # Plain text, written a page at a time: a Rich table costs about a millisecond a row,
    # which is most of the time of a listing of 10,000 accounts. The columns take the
    # widths of the first page (at most the terminal's); a longer value folds onto the
    # following lines of its row. Into a pipe or a file, nothing folds: an id cut in two
    # is lost to grep and cut. Values never pass through Rich: no markup is read.
    fold = console.is_terminal
    widths: list[int] = []
    for page in pages:
        rows = [[_plain(column.value(row)) for column in columns] for row in page]
        if not widths:
            # A little room over the first page's widths: later pages run longer
            # (user 999, then user 1000).
            first = [
                max([len(c.header), *(cell_len(r[i]) for r in rows)]) for i, c in enumerate(columns)
            ]
            widths = [w + max(2, w // 5) for w in first]
            widths = _fit(widths, console.width) if fold else widths
            # The header is never wrapped at Rich's width (80 columns into a pipe): it
            # stays one line over the rows it names, as wide as they are.
            console.print(
                Text(
                    "  ".join(
                        c.header.ljust(w) for c, w in zip(columns, widths, strict=True)
                    ).rstrip(),
                    style="bold",
                ),
                soft_wrap=True,
            )
        typer.echo("".join(_lines(r, widths, fold) for r in rows), nl=False)
    if not pages.count:
        console.print(f"[dim]{esc(empty)}[/]")
    elif pages.total is not None and pages.total > pages.count:
        console.print(f"[dim]{pages.count} of {pages.total} shown; --limit shows more[/]")


# What a terminal acts on in a value (a control moves the cursor or recolours the
# terminal, a line separator breaks the row, a bidi control such as U+202E reverses the
# rest of the line, columns after it too): each becomes a space. The same characters
# wmx.present's `terminal_safe` escapes in tables and records.
_CONTROLS = dict.fromkeys(map(ord, TERMINAL_CONTROLS), " ")


def _plain(value: Any) -> str:
    """A cell's text, on one line and without a character a terminal acts on (none of
    them is printable: printable text is kept as it is)."""
    if value is None:
        return ""
    text = yes_no(value) if isinstance(value, bool) else str(value)
    return text.translate(_CONTROLS) if not text.isprintable() else text


def _fit(widths: list[int], total: int) -> list[int]:
    """Column widths that fit `total` (two spaces between columns): the widest give way,
    down to 8 characters."""
    widths = [max(w, 1) for w in widths]
    room = total - 2 * (len(widths) - 1)
    while sum(widths) > room and max(widths) > 8:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    return widths


def _lines(cells: list[str], widths: list[int], fold: bool = True) -> str:
    """One row, folded onto as many lines as its longest cell needs (unless not `fold`:
    a longer cell then pushes the rest of its line right). Widths are terminal cells: a
    CJK character or an emoji takes two."""
    if not fold or all(cell_len(t) <= w for t, w in zip(cells, widths, strict=True)):
        return "  ".join(_pad(t, w) for t, w in zip(cells, widths, strict=True)).rstrip() + "\n"
    chunks = [chop_cells(text, width) or [""] for text, width in zip(cells, widths, strict=True)]
    lines = []
    for line in range(max(len(c) for c in chunks)):
        parts = [
            _pad(c[line] if line < len(c) else "", width)
            for c, width in zip(chunks, widths, strict=True)
        ]
        lines.append("  ".join(parts).rstrip() + "\n")
    return "".join(lines)


def _pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` terminal cells (str.ljust counts characters)."""
    return text + " " * (width - cell_len(text))
