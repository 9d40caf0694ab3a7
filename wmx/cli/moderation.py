"""`wmx user` moderation: deactivate (one or many), lock, suspend, shadow-ban, prune
devices, redact. The bulk work is in wmx.admin.bulk; these commands ask and present."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.admin_support import Cmd, Switch, UserId, command, lazy, on_off_commands
from wmx.cli.admin_support import room_arg as ref
from wmx.cli.common import checked
from wmx.errors import InputError

if TYPE_CHECKING:
    from wmx.admin.actions import moderation as ops
    from wmx.admin.users import AccountFlag
else:
    ops = lazy("wmx.admin.actions.moderation")


def deactivate(
    cmd: Cmd,
    user: Annotated[
        str | None, typer.Argument(help="User id (or name).", show_default=False)
    ] = None,
    erase: Annotated[
        bool,
        typer.Option("--erase", help="Also erase: hide their messages from new members (GDPR)."),
    ] = False,
    regex: Annotated[
        str | None,
        typer.Option(
            "--regex",
            help="Deactivate every account whose whole id (or name) matches this regular "
            "expression; server admins are never included.",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show who would go.")] = False,
) -> None:
    """Deactivate an account (it can no longer log in), or many with --regex."""
    from wmx.admin.ids import check_regex

    if (user is None) == (regex is None):
        raise InputError("name one user, or give --regex PATTERN (not both)")
    if regex is not None:
        pattern = checked(check_regex, regex)
        cmd.run(ops.deactivate_matching, pattern, erase=erase, dry_run=dry_run)
        return
    user_id = cmd.user_id(str(user), refuse="deactivate")
    cmd.run(ops.deactivate, user_id, erase=erase, dry_run=dry_run)


def _account_flag(field: AccountFlag, action: str, *, on: str, off: str) -> Switch:
    """lock, suspend and shadow-ban differ only in the flag they set; wmx will not set
    one on its own admin account (`action` says what it refuses)."""

    def switch(cmd: Cmd, user: str, value: bool) -> None:
        user_id = cmd.user_id(user, refuse=action if value else None)
        cmd.run(ops.set_flag, user_id, field, value, on if value else off)

    return switch


def devices(
    cmd: Cmd,
    user: UserId,
    prune_older_than: Annotated[
        int | None,
        typer.Option(
            "--prune-older-than",
            metavar="DAYS",
            help="Log out (delete) devices not seen for this many days.",
        ),
    ] = None,
    never_seen: Annotated[
        bool,
        typer.Option(
            "--never-seen",
            help="With --prune-older-than: also devices Synapse never saw in use (a login "
            "that has not made a request yet looks the same).",
        ),
    ] = False,
) -> None:
    """List an account's devices (sessions); prune stale ones."""
    from wmx.admin.ids import check_days

    user_id = cmd.user_id(user)
    if prune_older_than is not None:
        checked(lambda v: check_days(int(v)), str(prune_older_than))
    cmd.run(ops.devices, user_id, prune_older_than, never_seen=never_seen)


def redact(
    cmd: Cmd,
    user: UserId,
    rooms: Annotated[
        list[str] | None,
        typer.Option("--room", help="Only in this room (repeatable); default: every room."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Shown with each redaction.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for Synapse to finish (default).")
    ] = True,
) -> None:
    """Redact (remove the content of) every event the account sent, in the background."""
    room_refs = [ref(r) for r in rooms or []]
    user_id = cmd.user_id(user)
    cmd.run(ops.redact, user_id, room_refs, reason=reason, wait=wait)


def redact_status(
    cmd: Cmd,
    redact_id: Annotated[str, typer.Argument(help="The id `wmx user redact --no-wait` printed.")],
) -> None:
    """Where a redaction started with --no-wait stands."""
    cmd.run(ops.redact_status, redact_id)


# The account flags: (field, (on command, its help, what it did), (off command, …)).
ACCOUNT_FLAGS: list[tuple[AccountFlag, tuple[str, str, str], tuple[str, str, str]]] = [
    (
        "locked",
        ("lock", "Lock an account: it cannot log in or use its sessions until unlocked "
         "(reversible).", "is locked"),
        ("unlock", "Unlock a locked account.", "is unlocked"),
    ),
    (
        "suspended",
        ("suspend", "Suspend an account: it can read but not send, join or change its "
         "profile.", "is suspended"),
        ("unsuspend", "Lift a suspension.", "is no longer suspended"),
    ),
    (
        "shadow_banned",
        ("shadow-ban", "Shadow-ban: their messages seem to send but reach nobody (for spam "
         "bots).", "is shadow-banned"),
        ("unshadow-ban", "Lift a shadow-ban.", "is no longer shadow-banned"),
    ),
]  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the moderation commands to `wmx user`, in the order `--help` lists them."""
    command(app, yes=True)(deactivate)
    for field, (on, on_help, on_done), (off, off_help, off_done) in ACCOUNT_FLAGS:
        switch = _account_flag(field, on, on=on_done, off=off_done)
        on_off_commands(app, ("user", UserId), switch, on=(on, on_help), off=(off, off_help))
    command(app, yes=True)(devices)
    command(app, yes=True)(redact)
    command(app, "redact-status")(redact_status)
