"""What the administration commands (user, room, media, regtoken, notice, reports) share:
their options, confirmation, passwords, checked identifiers, the signed-in session, and
on/off command pairs. Workflows live in wmx.admin; output in wmx.present."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wmx.cli.common import OutputFormat, checked, console, open_site
from wmx.errors import InputError
from wmx.present import (
    Column,
    Pages,
    emit_data,
    emit_done,
    emit_pages,
    emit_record,
    emit_rows,
    esc,
)

if TYPE_CHECKING:
    from wmx.admin.client import SynapseAdmin

AdminUrl = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="WMX_ADMIN_URL",
        help="Reach Synapse at this URL (https://, or http:// to a private address such as "
        "http://10.0.0.5:8008) instead of through an SSH tunnel to the homeserver host.",
        show_default=False,
    ),
]
Output = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="table for people; json or yaml for scripts.")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
UserId = Annotated[str, typer.Argument(help="User id (@name:server) or just the name.")]
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
        from wmx.admin.users import generate_password

        return NewPassword(generate_password(), generated=True)
    value = typer.prompt(
        f"New password for {who}", hide_input=True, confirmation_prompt=True
    ).strip()
    if not value:
        raise InputError("the password is empty")
    return NewPassword(value, generated=False)


# Identifiers: checked before anything is sent (exit code 2 names the value).


def room_arg(value: str) -> str:
    from wmx.admin.ids import check_room

    return checked(check_room, value)


def moment_arg(value: str) -> int:
    """A past moment (date, date-time or age) as a millisecond timestamp."""
    from wmx.admin.ids import check_past_ms

    return checked(check_past_ms, value)


# Commands: each gets a `Cmd` in place of the context, --output and --url (added last
# to its options), so that a command declares only what is its own. The admin client is
# imported when a command runs, never for --help.


class Cmd:
    """What an administration command was given: `--output`, `--url` and the site (loaded
    first, before any argument is checked), and the ways to reach and answer through them."""

    def __init__(self, ctx: typer.Context, output: OutputFormat, url: str | None) -> None:
        self.output, self.url, self.site = output, url, open_site(ctx)
        self.table = output is OutputFormat.table

    def session(self) -> AbstractContextManager[SynapseAdmin]:
        """A signed-in `SynapseAdmin` (context manager): `--url`, or an SSH tunnel."""
        from wmx.admin.account import admin_session

        return admin_session(self.site, self.url)

    @contextmanager
    def user_session(
        self, user: str, refuse: str | None = None
    ) -> Iterator[tuple[SynapseAdmin, str]]:
        """A session and the id of an existing local account (checked before the session
        opens); `refuse` names the action wmx will not do to its own admin account."""
        from wmx.admin import targets

        user_id = self.user_id(user)
        with targets.user_session(self.site, user_id, self.url, refuse=refuse) as admin:
            yield admin, user_id

    def room_session(self, room: str) -> AbstractContextManager[tuple[SynapseAdmin, str]]:
        """A session and the id of a room this homeserver knows (from its id or an alias)."""
        from wmx.admin import targets

        return targets.room_session(self.site, room_arg(room), self.url)

    def user_id(self, user: str) -> str:
        """A local user id; a bare name is completed with the site's server name."""
        from wmx.admin.ids import check_user_id

        return checked(lambda v: check_user_id(v, self.site.config.server_name), user)

    def done(self, message: str, data: Mapping[str, Any]) -> None:
        emit_done(self.output, message, data)

    def done_with_password(self, message: str, data: dict[str, Any], password: NewPassword) -> None:
        """`done` for a command that set data["user_id"]'s password: a generated one is
        shown once, under the sentence for people or in the object for scripts."""
        self.done(message, {**data, **({"password": password.value} if password.generated else {})})
        if self.table and password.generated:
            console.print(
                f"  Password for {esc(data['user_id'])}: [bold]{esc(password.value)}[/]  "
                "(shown once; pass it on now)"
            )

    def rows(self, rows: Sequence[Any], columns: Sequence[Column], **kwargs: Any) -> None:
        emit_rows(rows, self.output, columns, **kwargs)

    def pages(self, pages: Pages, columns: Sequence[Column], *, empty: str) -> None:
        emit_pages(pages, self.output, columns, empty=empty)

    def record(self, record: Mapping[str, Any], fields: Sequence[Column]) -> None:
        emit_record(record, self.output, fields)

    def data(self, data: Any) -> None:
        emit_data(data, self.output)

    def show(self, data: Any, for_people: Callable[[], None]) -> None:
        """Scripts get `data` (JSON or YAML); people get what `for_people()` prints."""
        if self.table:
            for_people()
        else:
            self.data(data)


_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_OUTPUT = inspect.Parameter("output", _KEYWORD, annotation=Output, default=OutputFormat.table)
_URL = inspect.Parameter("url", _KEYWORD, annotation=AdminUrl, default=None)


def command(
    app: typer.Typer, name: str | None = None, *, output: bool = True, url: bool = True
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register `func(cmd: Cmd, …)` as a command of `app`: its own parameters, then
    `--output` and `--url` (each unless turned off), as a hand-written command has them."""

    def register(func: Callable[..., None]) -> Callable[..., None]:
        own = list(inspect.signature(func, eval_str=True).parameters.values())[1:]
        extra = [p for p, on in ((_OUTPUT, output), (_URL, url)) if on]
        if clash := {p.name for p in own} & {p.name for p in extra}:
            raise TypeError(f"{func.__name__}: {clash} would hide --output/--url")
        app.command(name)(_command(func.__name__, func.__doc__, own + extra, func))
        return func

    return register


def _command(
    name: str, doc: str | None, params: list[inspect.Parameter], run: Callable[..., None]
) -> Callable[..., None]:
    def command(ctx: typer.Context, **values: Any) -> None:
        output = values.pop("output", OutputFormat.table)
        run(Cmd(ctx, output, values.pop("url", None)), **values)

    # Typer reads the parameters from the signature: give it the one a hand-written
    # command would have.
    context = inspect.Parameter("ctx", _KEYWORD, annotation=typer.Context)
    command.__signature__ = inspect.Signature([context, *params])  # type: ignore[attr-defined]
    command.__name__ = command.__qualname__ = name
    command.__doc__ = doc
    return command


# On/off pairs (lock/unlock, block/unblock, protect/unprotect, …): one function does
# both, and each pair of commands is generated from it, so that the two cannot drift.

Switch = Callable[[Cmd, str, bool], None]


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
    call `switch(cmd, target value, True for on / False for off)`.

    `off_first` lists the off command first in `--help`.
    """
    argument, kind = target
    params = [inspect.Parameter(argument, _KEYWORD, annotation=kind), _OUTPUT, _URL]
    pair = [(*off, False), (*on, True)] if off_first else [(*on, True), (*off, False)]
    for name, help_text, value in pair:

        def run(cmd: Cmd, value: bool = value, **values: str) -> None:
            switch(cmd, values[argument], value)

        app.command(name)(_command(name.replace("-", "_"), help_text, params, run))
