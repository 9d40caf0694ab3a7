"""How wmx shows results: tables and records for people, JSON or YAML for scripts,
listings printed page by page as they arrive, and live status lines; and how it takes
what people give on the command line: a value checked by a grammar (`checked`: an input
error, exit 2), a question (`ask`, `confirm` unless --yes), a secret read without echo,
the CA bundle to trust. A library below wmx.cli (the commands use it); it knows no
command and no site.

Everything a server or a user wrote (display names, room names, topics, report reasons,
ids) is shown as plain text, never read as Rich markup: table cells are `Text` objects,
and a sentence that quotes such a value passes it through `esc` first.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from wmx.errors import InputError, WmxError, printable

if TYPE_CHECKING:
    import ssl
    from pathlib import Path


class _Console(Console):
    """Rich's console, except that a sentence printed into a pipe or a file is never
    broken at Rich's 80 columns: one line stays one line for grep, a log and a script.
    On a terminal it wraps at the window's width as before; tables fit the width always."""

    def print(self, *objects: Any, soft_wrap: bool | None = None, **options: Any) -> None:
        if soft_wrap is None and not self.is_terminal:
            if any(isinstance(o, Group) for o in objects):
                # A group stacks its parts, and some are sentences (`wmx status`'s
                # problems, a run's "Run record: …"): each part printed on its own lines
                # is what the group shows, with its sentences one line each.
                for part in objects:
                    for shown in part.renderables if isinstance(part, Group) else (part,):
                        self.print(shown, **options)
                return
            soft_wrap = all(isinstance(o, str | Text) for o in objects)
        super().print(*objects, soft_wrap=soft_wrap, **options)


console = _Console()
err_console = _Console(stderr=True)
T = TypeVar("T")


def print_error(line: str) -> None:
    """`error: LINE` on stderr: how wmx reports every error (plain text, never markup)."""
    err_console.print(Text.assemble(("error: ", "bold red"), printable(line)), soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


def print_json(data: Any) -> None:
    # Plain print: Rich would wrap long lines and break the JSON for scripts.
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_yaml(data: Any) -> None:
    # Plain YAML of JSON-like data (what the Admin API answers), block style for people.
    from ruamel.yaml import YAML

    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(json.loads(json.dumps(data, default=str)), out)
    typer.echo(out.getvalue(), nl=False)


def esc(value: Any) -> str:
    """A value from a server or a user, made safe to put inside a Rich markup string: its
    markup escaped, and each character a terminal acts on written as an escape
    (`terminal_safe`): a room name's `\\x1b]0;…` or `\\r` in a sentence wmx prints is
    shown, never run."""
    return escape(terminal_safe(str(value)))


def known(value: Any, unknown: str) -> str:
    """For people: `value`'s text, or `unknown` (words saying why) for None. Plans, records
    and JSON keep None (null): words are made here, never "None" or "?"."""
    return unknown if value is None else str(value)


def when(ms: Any) -> str:
    """A Matrix millisecond timestamp in local time, to the minute."""
    if not isinstance(ms, int | float) or ms <= 0:
        return "never"
    return _minute(int(ms // 60000))


@lru_cache(maxsize=4096)
def _minute(minutes: int) -> str:
    # Listings repeat the same minutes (accounts created together): format each once.
    return datetime.fromtimestamp(minutes * 60).astimezone().strftime("%Y-%m-%d %H:%M")


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


def columns(spec: str, **formats: Callable[[Any], str]) -> list[Column]:
    """Columns of a mapping from "header:key, key, …" (the header is the key when they are
    the same); a key ending in `_ts` (a Matrix timestamp) is shown with `when`, another
    key with the formatter `formats` gives it."""
    found = []
    for item in spec.split(","):
        header, _, key = item.strip().partition(":")
        key = key or header
        found.append(
            Column.key(header, key, formats.get(key, when if key.endswith("_ts") else None))
        )
    return found


def cell(value: Any) -> Text:
    """A table cell: plain text whatever it holds (no markup, no highlighting). A room
    name or a report reason may hold ESC sequences, which Rich passes through (one
    retitles the window, another clears the moderator's screen): each character a
    terminal would act on is written as an escape instead, as `printable` writes it."""
    if value is None:
        return Text("")
    if isinstance(value, bool):
        return Text(yes_no(value))
    return Text(terminal_safe(str(value)))


# Bidi controls: they reorder what follows them on the line (a name shown backwards).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Every character a terminal acts on instead of showing it: the controls (C0, DEL, C1:
# Unicode's Cc), the line and paragraph separators (Zl, Zp) and the bidi controls. The
# one definition both ways of showing text use: escaped in sentences, questions, tables
# and records (`terminal_safe`), a space in streamed listings (wmx.present_pages).
TERMINAL_CONTROLS = (
    frozenset(chr(c) for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)) | _BIDI
)


def terminal_safe(text: str) -> str:
    """`text` with the characters a terminal acts on escaped (`TERMINAL_CONTROLS`),
    unlike `printable` keeping the joiners that emoji sequences and Persian or Indic
    names are written with (U+200C, U+200D)."""
    if text.isprintable():  # none of TERMINAL_CONTROLS is printable: the common case
        return text
    return "".join(repr(c)[1:-1] if c in TERMINAL_CONTROLS else c for c in text)


def emit_data(data: Any, output: OutputFormat) -> None:
    if output is OutputFormat.yaml:
        print_yaml(data)
    else:
        print_json(data)


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
    table = Table(show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column.header, overflow="fold")
    for row in rows:
        table.add_row(*(cell(column.value(row)) for column in columns))
    console.print(table)
    if total is not None and total > len(rows):
        console.print(f"[dim]{len(rows)} of {total} shown; --limit shows more[/]")


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


def fail_unless_complete(what: str, state: Mapping[str, Any]) -> None:
    if state.get("status") != "complete":
        raise WmxError(f"{what} failed: {state.get('error') or state.get('status')}")


def confirm(question: str, *, yes: bool, refused: str = "") -> None:
    """Go on when `--yes` was given or the answer is yes; otherwise say `refused` (when
    given) and exit with status 1. The question and `refused` go to stderr: stdout holds
    only the answer (`echo y | wmx user deactivate X -o json | jq` had read the question
    in front of the JSON). The question often quotes what a server or a user wrote (a
    room's name): it is asked with the characters a terminal acts on escaped
    (`terminal_safe`), so that a `\\r` or an escape sequence cannot rewrite it."""
    if yes or typer.confirm(terminal_safe(question), default=False, err=True):
        return
    if refused:
        err_console.print(refused)
    raise typer.Exit(1)


Check = Callable[[], None]


def exit_if(failed: object) -> Check:
    """A check that fails the command (exit 1, after its output) when `failed` is true."""

    def check() -> None:
        if failed:
            raise typer.Exit(1)

    return check


@dataclass(frozen=True)
class Report:
    """A result as people and scripts see it: for scripts `data` (or what the function
    `data` returns, called only when a script asks) as JSON or YAML, for people what
    `for_people()` prints; then `check` (which may fail the command)."""

    data: Any
    for_people: Callable[[], object]
    check: Check | None = None

    def show(self, output: OutputFormat) -> None:
        if output is OutputFormat.table:
            self.for_people()
        else:
            emit_data(self.data() if callable(self.data) else self.data, output)
        if self.check is not None:
            self.check()


def answer(
    output: str, data: Callable[[], Any], show: Callable[[], object], ok: bool = True
) -> None:
    """A `Report` for the commands whose --output is table or json: `--output json` gets
    `data()` as JSON, anything else (table; `wmx dns --check -o zone`'s findings) what
    `show()` prints; then exit status 1 unless `ok`. No caller's --output offers yaml."""
    shown = OutputFormat.json if output == "json" else OutputFormat.table
    Report(data, show, exit_if(not ok)).show(shown)


def ask_hidden(what: str, instead: str) -> str:
    """`what` asked twice without echo on a terminal. Standard input that is no terminal
    (a script's pipe, a file, </dev/null) has nothing to hide from: its next two lines,
    and an input error saying `instead` when it ends first (Python's GetPassWarning and
    'Aborted.', exit 1, had been all a script got)."""
    if sys.stdin.isatty():
        return str(typer.prompt(what, hide_input=True, confirmation_prompt=True, err=True))
    first, again = sys.stdin.readline(), sys.stdin.readline()
    if not first or not again:
        raise InputError(f"standard input ended before the {what.lower()} was given: {instead}")
    if first != again:
        raise InputError(f"the two lines given for the {what.lower()} differ")
    return first.rstrip("\r\n")


def read_secret(
    what: str, *, stdin: bool, instead: str = "give it as one line with --stdin"
) -> str:
    """A password or secret: one line of standard input (`--stdin`), or asked for twice
    without echo as `what` (`instead`: what to do when standard input ends first); never
    from the command line, never empty."""
    value = sys.stdin.readline().rstrip("\r\n") if stdin else ask_hidden(what, instead)
    if not value.strip() or "\n" in value:
        raise InputError(f"the {what.lower()} must be one non-empty line")
    return value


def ask(
    label: str,
    given: str | None,
    default: str | None,
    check: Callable[[str], str],
    interactive: bool,
) -> str:
    """The value of option `--LABEL` when given (checked: an input error naming it);
    otherwise asked for (again after a wrong answer, saying why), or its default when
    nothing may be asked (an input error when it has none)."""
    option = f"--{label.replace(' ', '-')}"
    value = given
    while True:
        if value is None:
            if not interactive:
                if default is None:
                    raise InputError(f"{option} is required with --defaults")
                value = default
            else:
                value = _answer(label.capitalize(), default)
        if not interactive or given is not None:
            return checked(check, value, name=option)
        try:
            return check(value)
        except ValueError as exc:  # asked: say why and ask again
            err_console.print(f"[red]{esc(exc)}[/]")
            value = None


def _answer(question: str, default: str | None) -> str:
    """The answer to `question`: asked on a terminal, on stderr as confirm()'s questions
    are (stdout holds only what the command reports: `wmx init SITE | tee init.log` kept
    no questions); from standard input that is no terminal, the next line, unasked (a
    script's answers; an error then is its one line). An empty answer is the default;
    without one it is asked again. The end of input is typer.Abort, as at a prompt."""
    if sys.stdin.isatty():
        return str(typer.prompt(question, default=default, err=True))
    while True:
        line = sys.stdin.readline()
        if not line:
            try:
                raise EOFError
            except EOFError:  # the context a prompt's Abort carries: callers read it
                raise typer.Abort from None
        value = line.rstrip("\r\n")
        if value or default is not None:
            return value or str(default)


def checked(check: Callable[[str], T], value: str, *, name: str = "") -> T:
    """Apply a grammar to a command-line value: its ValueError becomes an input error
    (one line, exit code 2, after `name: ` when given). Every command-line check goes
    through here (wmx.cli.common gives it to the commands)."""
    try:
        return check(value)
    except ValueError as exc:
        raise InputError(f"{name}: {exc}" if name else str(exc)) from None


def trust(ca_file: Path | None) -> ssl.SSLContext:
    """A TLS context that trusts `--ca-file`'s CA certificates (PEM), or the system's
    without one; a file that is no PEM bundle is an input error naming it."""
    import ssl

    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (ssl.SSLError, ValueError) as exc:
        raise InputError(f"--ca-file {ca_file}: not a PEM CA bundle ({exc})") from None


def plain_help() -> None:
    """`--help` written the way the docs write commands: a flag shows no type (Typer
    0.29 wrote `--check <bool>`, which reads as if it took a value: `--check true` is
    then refused), a repeatable option or argument its item's type (`<str>`, not
    `<list[str]>`), and an argument in capitals (`wmx user show USER`, not `{user}`).
    Called once by wmx.cli."""
    from typer.core import TyperArgument, TyperOption

    option_type = TyperOption.display_type_rich
    argument_type = TyperArgument.display_type_rich
    if getattr(option_type, "_wmx", False):
        return

    def item_type(shown: str | None) -> str | None:
        if shown and shown.startswith("<list[") and shown.endswith("]>"):
            return f"<{shown[6:-2]}>"
        return shown

    def option_display_type(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag or self.count else item_type(option_type(self, ctx))

    def argument_display_type(self: TyperArgument, ctx: Any) -> str | None:
        return item_type(argument_type(self, ctx))

    def name_of(self: TyperArgument) -> str:
        return self.metavar if self.metavar is not None else (self.name or "").upper()

    def usage_name(self: TyperArgument) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("…" if self.nargs != 1 else "")

    option_display_type._wmx = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = option_display_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_display_type  # type: ignore[method-assign,assignment]
    TyperArgument.display_name_raw = property(name_of)  # type: ignore[assignment]
    TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
