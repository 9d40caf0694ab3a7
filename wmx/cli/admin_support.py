"""What the administration commands (user, room, media, regtoken, notice, reports) share:
their options, confirmation, passwords, checked identifiers, the signed-in session, and
on/off command pairs. Workflows live in wmx.admin; output in wmx.cli.present."""

from __future__ import annotations

import inspect
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wmx.cli.common import OutputFormat, checked, console
from wmx.cli.present import emit_done, esc
from wmx.errors import InputError

if TYPE_CHECKING:
    from wmx.admin.client import SynapseAdmin
    from wmx.site import Site

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
        return NewPassword(secrets.token_urlsafe(15), generated=True)
    value = typer.prompt(
        f"New password for {who}", hide_input=True, confirmation_prompt=True
    ).strip()
    if not value:
        raise InputError("the password is empty")
    return NewPassword(value, generated=False)


def emit_done_with_password(
    output: OutputFormat,
    message: str,
    data: dict[str, Any],
    password: NewPassword,
    user_id: str,
) -> None:
    """`emit_done` for a command that set a password: a generated one is shown once,
    under the sentence for people or in the object for scripts."""
    extra = {"password": password.value} if password.generated else {}
    emit_done(output, message, {**data, **extra})
    if output is OutputFormat.table and password.generated:
        console.print(
            f"  Password for {esc(user_id)}: [bold]{esc(password.value)}[/]  "
            "(shown once; pass it on now)"
        )


# Identifiers: checked before anything is sent (exit code 2 names the value).


def user_arg(site: Site, value: str) -> str:
    """A local user id; a bare name is completed with the site's server name."""
    from wmx.admin.ids import check_user_id

    return checked(lambda v: check_user_id(v, site.config.server_name), value)


def room_arg(value: str) -> str:
    from wmx.admin.ids import check_room

    return checked(check_room, value)


def moment_arg(value: str) -> int:
    """A past moment (date, date-time or age) as a millisecond timestamp."""
    from wmx.admin.ids import check_past_ms

    return checked(check_past_ms, value)


# Sessions: the admin client is imported when a command runs, never for --help.


def session(site: Site, url: str | None) -> AbstractContextManager[SynapseAdmin]:
    """A signed-in `SynapseAdmin` (context manager): `--url`, or an SSH tunnel."""
    from wmx.admin.account import admin_session

    return admin_session(site, url)


@contextmanager
def user_session(
    site: Site, user: str, url: str | None, *, refuse: str | None = None
) -> Iterator[tuple[SynapseAdmin, str]]:
    """A session and the id of an existing local account (checked before the session
    opens); `refuse` names the action wmx will not do to its own admin account."""
    from wmx.admin import targets

    user_id = user_arg(site, user)
    with targets.user_session(site, user_id, url, refuse=refuse) as admin:
        yield admin, user_id


@contextmanager
def room_session(site: Site, room: str, url: str | None) -> Iterator[tuple[SynapseAdmin, str]]:
    """A session and the id of a room this homeserver knows (from its id or an alias)."""
    from wmx.admin import targets

    with targets.room_session(site, room_arg(room), url) as found:
        yield found


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
