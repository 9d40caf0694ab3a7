"""What the administration commands (user, room, media, regtoken, notice, reports) share:
their options, the signed-in session, confirmation, passwords, on/off command pairs, and
output as a table, JSON or YAML."""

from __future__ import annotations

import inspect
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from wmx.admin.account import admin_session, admin_user_id
from wmx.admin.client import SynapseAdmin
from wmx.admin.ids import check_past_ms, check_room, check_user_id
from wmx.admin.tasks import wait_for_task
from wmx.cli.common import OutputFormat, checked, console, print_json, print_yaml
from wmx.errors import InputError, WmxError
from wmx.site import Site

S = TypeVar("S", bound=Mapping[str, Any])

AdminUrl = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="WMX_ADMIN_URL",
        help="Reach Synapse at this URL (e.g. http://10.0.0.5:8008 on a private network) "
        "instead of through an SSH tunnel to the homeserver host.",
        show_default=False,
    ),
]
Output = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="table for people; json or yaml for scripts.")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
Limit = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Show at most this many.")]
PasswordFile = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help="Read the password from the first line of this file ('-': standard input).",
        show_default=False,
    ),
]
GeneratePassword = Annotated[
    bool, typer.Option("--generate-password", help="Generate a password and show it once.")
]


def confirm(question: str, yes: bool) -> None:
    """Ask before anything destructive; `--yes` answers for scripts."""
    if yes:
        return
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)


# Passwords: from a file, a prompt with confirmation, or generated and shown once.
# Never from argv, where `ps` and shell history would keep them.


@dataclass(frozen=True)
class NewPassword:
    value: str
    generated: bool

    def __repr__(self) -> str:
        return f"NewPassword(<hidden>, generated={self.generated})"


def read_password_file(path: Path) -> str:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the password file ({exc.strerror})") from None
    lines = text.splitlines()
    password = lines[0] if lines else ""
    if not password:
        raise InputError(f"{path}: the password file is empty")
    return password


def new_password(password_file: Path | None, generate: bool, *, who: str) -> NewPassword:
    if password_file and generate:
        raise InputError("give either --password-file or --generate-password, not both")
    if password_file:
        return NewPassword(read_password_file(password_file), generated=False)
    if generate:
        return NewPassword(secrets.token_urlsafe(15), generated=True)
    value = typer.prompt(
        f"New password for {who}", hide_input=True, confirmation_prompt=True
    ).strip()
    if not value:
        raise InputError("the password is empty")
    return NewPassword(value, generated=False)


# Output


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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no(value)
    return str(value)


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
        console.print(f"[dim]{empty}[/]")
        return
    table = Table(show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column.header, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(column.value(row)) for column in columns))
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
        table.add_row(column.header, _cell(column.value(record)))
    console.print(table)


def emit_data(data: Any, output: OutputFormat) -> None:
    if output is OutputFormat.yaml:
        print_yaml(data)
    else:
        print_json(data)


def emit_done(output: OutputFormat, message: str, data: Mapping[str, Any]) -> None:
    """The result of a change: a sentence for people, an object for scripts."""
    if output is OutputFormat.table:
        console.print(message)
    else:
        emit_data(dict(data), output)


def emit_done_with_password(
    output: OutputFormat,
    message: str,
    data: Mapping[str, Any],
    password: NewPassword,
    user_id: str,
) -> None:
    """`emit_done` for a command that set a password: a generated one is shown once,
    under the sentence for people or in the object for scripts."""
    extra = {"password": password.value} if password.generated else {}
    emit_done(output, message, {**data, **extra})
    if output is OutputFormat.table and password.generated:
        console.print(
            f"  Password for {user_id}: [bold]{password.value}[/]  (shown once; pass it on now)"
        )


def follow_task(
    what: str,
    poll: Callable[[], S],
    *,
    describe: Callable[[S], str] | None = None,
    timeout: float = 3600.0,
) -> S:
    """Wait for a Synapse background task with a live status line; return its last state."""
    if not console.is_terminal:
        return wait_for_task(poll, what=what, timeout=timeout)
    with console.status(f"{what}: starting…") as status:

        def update(state: S) -> None:
            detail = describe(state) if describe else str(state.get("status", ""))
            status.update(f"{what}: {detail}")

        return wait_for_task(poll, what=what, on_update=update, timeout=timeout)


def fail_unless_complete(what: str, state: Mapping[str, Any]) -> None:
    if state.get("status") != "complete":
        raise WmxError(f"{what} failed: {state.get('error') or state.get('status')}")


# Identifiers: checked before anything is sent (exit code 2 names the value).


def user_arg(site: Site, value: str) -> str:
    """A local user id; a bare name is completed with the site's server name."""
    return checked(lambda v: check_user_id(v, site.config.server_name), value)


def room_arg(value: str) -> str:
    return checked(check_room, value)


def moment_arg(value: str) -> int:
    """A past moment (date, date-time or age) as a millisecond timestamp."""
    try:
        return check_past_ms(value)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def room_id_of(admin: SynapseAdmin, room: str) -> str:
    """The room id behind a checked room id or alias (an unknown alias → exit 2); the
    room itself need not be known here (rooms may be blocked before anyone joins)."""
    return admin.rooms.resolve_alias(room) if room.startswith("#") else room


def existing_room(admin: SynapseAdmin, room: str) -> str:
    """The id of a room this homeserver knows, from its id or an alias (404 → exit 2)."""
    room_id = room_id_of(admin, room)
    admin.rooms.get(room_id)
    return room_id


def refuse_own_account(site: Site, user_id: str, action: str) -> None:
    if user_id == admin_user_id(site):
        raise InputError(f"{user_id} is wmx's own admin account: wmx will not {action} it")


# Sessions around one existing account or room: the opening most commands share. The
# value is checked (exit 2) before the tunnel opens, and an unknown account or room
# fails (404, exit 2) before anything is changed.


@contextmanager
def user_session(
    site: Site, user: str, url: str | None, *, refuse: str | None = None
) -> Iterator[tuple[SynapseAdmin, str]]:
    """A session and the id of an existing local account; `refuse` names the action
    wmx will not do to its own admin account."""
    user_id = user_arg(site, user)
    if refuse:
        refuse_own_account(site, user_id, refuse)
    with admin_session(site, url) as admin:
        admin.users.get(user_id)
        yield admin, user_id


@contextmanager
def room_session(site: Site, room: str, url: str | None) -> Iterator[tuple[SynapseAdmin, str]]:
    """A session and the id of a room this homeserver knows (from its id or an alias)."""
    ref = room_arg(room)
    with admin_session(site, url) as admin:
        yield admin, existing_room(admin, ref)


# Batch actions (deactivate --regex, purge-empty, notices): one result per target.


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


# On/off pairs (lock/unlock, block/unblock, protect/unprotect, …): one function does
# both, and each pair of commands is generated from it, so that the two cannot drift.

Switch = Callable[[typer.Context, str, bool, OutputFormat, str | None], None]


def on_off_commands(
    app: typer.Typer,
    target: tuple[str, Any],
    switch: Switch,
    *,
    on: tuple[str, str],
    off: tuple[str, str],
    off_first: bool = False,
) -> None:
    """Register `on` and `off` (each a command name and its help) as commands taking
    `target` (the argument's name and its annotated type), `--output` and `--url`; both
    call `switch(ctx, target value, True for on / False for off, output, url)`.

    `off_first` lists the off command first in `--help`.
    """
    pair = [(*off, False), (*on, True)] if off_first else [(*on, True), (*off, False)]
    for name, help_text, value in pair:
        app.command(name)(_switch_command(name, help_text, target, switch, value))


def _switch_command(
    name: str, help_text: str, target: tuple[str, Any], switch: Switch, value: bool
) -> Callable[..., None]:
    argument, kind = target

    def command(**params: Any) -> None:
        switch(params["ctx"], params[argument], value, params["output"], params["url"])

    # Typer reads the parameters from the signature: give it the one a hand-written
    # command would have.
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("ctx", keyword, annotation=typer.Context),
            inspect.Parameter(argument, keyword, annotation=kind),
            inspect.Parameter("output", keyword, annotation=Output, default=OutputFormat.table),
            inspect.Parameter("url", keyword, annotation=AdminUrl, default=None),
        ],
        return_annotation=None,
    )
    command.__name__ = command.__qualname__ = name.replace("-", "_")
    command.__doc__ = help_text
    return command
