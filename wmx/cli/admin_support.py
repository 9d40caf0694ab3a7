"""What the administration commands (user, room, media, regtoken, notice, reports) share:
their options, confirmation, checked identifiers, running an action of
wmx.admin.actions in a signed-in session, and on/off command pairs. The work is in
wmx.admin; output in wmx.admin.present and wmx.present."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Concatenate, Literal, ParamSpec, TypeVar

import typer

from wmx.cli.common import OutputFormat, checked, open_site
from wmx.present import Column, confirm, emit_rows

if TYPE_CHECKING:
    from wmx.admin.act import Act, Shown

P = ParamSpec("P")
T = TypeVar("T")


def lazy(name: str) -> Any:
    """The module `name`, imported when first used: a command module names its actions
    module at the top while `--help` still imports no part of wmx.admin."""

    class Lazy:
        def __getattr__(self, attribute: str) -> Any:
            return getattr(import_module(name), attribute)

    return Lazy()


# The grammars every command checks its identifiers with before anything is sent.
if TYPE_CHECKING:
    from wmx.admin import ids as ids
else:
    ids = lazy("wmx.admin.ids")

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
# --yes on a command that changes something but asks nothing: scripts pass --yes to every
# such command (exit 2 for an unknown option had failed them on `lock`, `admin`, …).
YesAccepted = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Accepted for scripts; this command asks nothing."),
]
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


# Identifiers: checked before anything is sent (exit code 2 names the value).


def room_arg(value: str) -> str:
    return checked(ids.check_room, value)


def moment_arg(value: str) -> int:
    """A past moment (date, date-time or age) as a millisecond timestamp."""
    return checked(ids.check_past_ms, value)


# Commands: each gets a `Cmd` in place of the context, --yes (where it asks), --output
# and --url (added last to its options), so that a command declares only what is its
# own. The admin client is imported when a command runs, never for --help.


class Cmd:
    """What an administration command was given: `--yes`, `--output`, `--url` and the site
    (loaded first, before any argument is checked), and the way to run its action."""

    def __init__(
        self, ctx: typer.Context, output: OutputFormat, url: str | None, yes: bool = False
    ) -> None:
        self.output, self.url, self.yes, self.site = output, url, yes, open_site(ctx)
        self.table = output is OutputFormat.table

    def run(
        self, action: Callable[Concatenate[Act, P], Shown], *args: P.args, **kw: P.kwargs
    ) -> None:
        """Open a signed-in session (`--url`, or an SSH tunnel), do `action(act, *args,
        **kw)` (wmx.admin.act: it asks before anything destructive, unless --yes) and show
        what it returns, in the session (a listing is shown as its pages arrive)."""
        from wmx.admin.account import admin_session
        from wmx.admin.act import Act

        with admin_session(self.site, self.url) as admin:
            act = Act(admin, self.site, lambda question: confirm(question, yes=self.yes))
            action(act, *args, **kw).show(self.output)

    def user_id(self, user: str, refuse: str | None = None) -> str:
        """A local user id (a bare name is completed with the site's server name);
        `refuse` names the action wmx will not do to its own admin account."""
        from wmx.admin.targets import refuse_own_account

        user_id = self.local(ids.check_user_id, user)
        if refuse:
            refuse_own_account(self.site, user_id, refuse)
        return user_id

    def local(self, check: Callable[[str, str], T], value: str) -> T:
        """`value` checked by `check(value, the site's server name)` (exit code 2)."""
        return checked(lambda v: check(v, self.site.config.server_name), value)

    def rows(self, rows: Sequence[Any], columns: Sequence[Column], **kwargs: Any) -> None:
        emit_rows(rows, self.output, columns, **kwargs)


_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_OUTPUT = inspect.Parameter("output", _KEYWORD, annotation=Output, default=OutputFormat.table)
_URL = inspect.Parameter("url", _KEYWORD, annotation=AdminUrl, default=None)
_YES = inspect.Parameter("yes", _KEYWORD, annotation=Yes, default=False)
_YES_ACCEPTED = inspect.Parameter("yes", _KEYWORD, annotation=YesAccepted, default=False)


def command(
    app: typer.Typer,
    name: str | None = None,
    *,
    yes: bool | Literal["accepted"] = False,
    output: bool = True,
    url: bool = True,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register `func(cmd: Cmd, …)` as a command of `app`: its own parameters, then `--yes`
    (with `yes`: `cmd.run`'s actions ask unless it is given; `yes="accepted"` for a
    command that changes something without asking: --yes is taken and changes nothing),
    `--output` and `--url` (each unless turned off), as a hand-written command has them."""
    yes_option = _YES_ACCEPTED if yes == "accepted" else _YES

    def register(func: Callable[..., None]) -> Callable[..., None]:
        own = list(inspect.signature(func, eval_str=True).parameters.values())[1:]
        extra = [p for p, on in ((yes_option, yes), (_OUTPUT, output), (_URL, url)) if on]
        if clash := {p.name for p in own} & {p.name for p in extra}:
            raise TypeError(f"{func.__name__}: {clash} would hide --yes/--output/--url")
        app.command(name)(_command(func.__name__, func.__doc__, own + extra, func))
        return func

    return register


def _command(
    name: str, doc: str | None, params: list[inspect.Parameter], run: Callable[..., None]
) -> Callable[..., None]:
    def command(ctx: typer.Context, **values: Any) -> None:
        output, yes = values.pop("output", OutputFormat.table), values.pop("yes", False)
        run(Cmd(ctx, output, values.pop("url", None), yes), **values)

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
    `target` (the argument's name and its annotated type), `--yes` (accepted: neither
    asks), `--output` and `--url`; both call `switch(cmd, target value, True for on /
    False for off)`.

    `off_first` lists the off command first in `--help`.
    """
    argument, kind = target
    params = [inspect.Parameter(argument, _KEYWORD, annotation=kind), _YES_ACCEPTED, _OUTPUT, _URL]
    pair = [(*off, False), (*on, True)] if off_first else [(*on, True), (*off, False)]
    for name, help_text, value in pair:

        def run(cmd: Cmd, value: bool = value, **values: str) -> None:
            switch(cmd, values[argument], value)

        app.command(name)(_command(name.replace("-", "_"), help_text, params, run))
