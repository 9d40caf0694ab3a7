"""`wmx user` moderation: deactivate (one or many), lock, suspend, shadow-ban, prune
devices, redact. The bulk work is in wmx.admin.bulk; these commands ask and present."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.admin_support import (
    Cmd,
    Switch,
    UserId,
    Yes,
    command,
    confirm,
    on_off_commands,
    room_arg,
)
from wmx.cli.common import checked
from wmx.errors import InputError
from wmx.present import Column, columns, emit_results, esc, fail_unless_complete

if TYPE_CHECKING:
    from wmx.admin.types import RedactStatus
    from wmx.admin.users import AccountFlag


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
    yes: Yes = False,
) -> None:
    """Deactivate an account (it can no longer log in), or many with --regex."""
    from wmx.admin.ids import check_regex
    from wmx.admin.targets import refuse_own_account

    if (user is None) == (regex is None):
        raise InputError("name one user, or give --regex PATTERN (not both)")
    if regex is not None:
        checked(check_regex, regex)
        _deactivate_matching(cmd, regex, erase, dry_run, yes)
        return
    assert user is not None
    user_id = cmd.user_id(user)
    refuse_own_account(cmd.site, user_id, "deactivate")
    with cmd.session() as admin:
        details = admin.users.get(user_id)
        if details.get("deactivated") and not erase:
            raise InputError(f"{user_id} is already deactivated")
        if dry_run:
            cmd.done(f"Would deactivate {esc(user_id)}.", {"would_deactivate": [user_id]})
            return
        what = "Deactivate and erase" if erase else "Deactivate"
        confirm(f"{what} {user_id}? They can no longer log in", yes)
        admin.users.deactivate(user_id, erase=erase)
    cmd.done(
        f"Deactivated [bold]{esc(user_id)}[/]{' and erased its data' if erase else ''}.",
        {"user_id": user_id, "deactivated": True, "erased": erase},
    )


def _deactivate_matching(cmd: Cmd, pattern: str, erase: bool, dry_run: bool, yes: bool) -> None:
    from wmx.admin.account import admin_user_id
    from wmx.admin.bulk import deactivate_each, deactivation_targets

    with cmd.session() as admin:
        targets = deactivation_targets(admin, pattern, admin_user_id(cmd.site))
        if dry_run or not targets:
            cmd.rows(
                [{"user_id": t} for t in targets],
                columns("would deactivate:user_id"),
                empty=f"no active non-admin account matches {pattern!r}",
            )
            return
        confirm(f"Deactivate {len(targets)} account(s) matching {pattern!r}?", yes)
        results = deactivate_each(admin, targets, erase=erase)
    emit_results(results, cmd.output, Column.key("user", "user_id"), ok="deactivated")


def _account_flag(field: AccountFlag, action: str, *, on: str, off: str) -> Switch:
    """lock, suspend and shadow-ban differ only in the flag they set; wmx will not set
    one on its own admin account (`action` says what it refuses)."""

    def switch(cmd: Cmd, user: str, value: bool) -> None:
        with cmd.user_session(user, refuse=action if value else None) as (admin, user_id):
            admin.users.set_flag(field, user_id, value)
        done = on if value else off
        cmd.done(f"[bold]{esc(user_id)}[/] {done}.", {"user_id": user_id, field: value})

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
    yes: Yes = False,
) -> None:
    """List an account's devices (sessions); prune stale ones."""
    from wmx.admin.bulk import stale_devices
    from wmx.admin.ids import check_days
    from wmx.admin.present import DEVICE_COLUMNS, PRUNED_DEVICE_COLUMNS

    user_id = cmd.user_id(user)
    if prune_older_than is not None:
        checked(lambda v: check_days(int(v)), str(prune_older_than))
    with cmd.session() as admin:
        found = admin.users.devices(user_id)
        if prune_older_than is None:
            cmd.rows(found, DEVICE_COLUMNS, empty=f"{user_id} has no devices")
            return
        stale = stale_devices(found, prune_older_than, never_seen=never_seen)
        if stale:
            confirm(f"Log out {len(stale)} of {user_id}'s {len(found)} device(s)?", yes)
            admin.users.delete_devices(user_id, [d["device_id"] for d in stale])
    empty = f"no device of {user_id} is older than {prune_older_than} day(s)"
    cmd.rows(stale, PRUNED_DEVICE_COLUMNS, empty=empty)


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
    yes: Yes = False,
) -> None:
    """Redact (remove the content of) every event the account sent, in the background."""
    from wmx.admin.present import follow_task
    from wmx.admin.targets import existing_room

    room_refs = [room_arg(r) for r in rooms or []]
    with cmd.user_session(user) as (admin, user_id):
        room_ids = [existing_room(admin, r) for r in room_refs]
        where = f"{len(room_ids)} room(s)" if room_ids else "every room they are or were in"
        confirm(f"Redact every event {user_id} sent in {where}?", yes)
        redact_id = admin.users.start_redaction(user_id, rooms=room_ids, reason=reason)
        if not wait:
            cmd.done(
                f"Redaction of {esc(user_id)} started: "
                f"`wmx user redact-status {esc(redact_id)}` follows it.",
                {"redact_id": redact_id, "status": "scheduled"},
            )
            return
        state = follow_task(
            f"Redacting {user_id}'s events", lambda: admin.users.redaction_status(redact_id)
        )
    _report_redaction(cmd, redact_id, state)


def redact_status(
    cmd: Cmd,
    redact_id: Annotated[str, typer.Argument(help="The id `wmx user redact --no-wait` printed.")],
) -> None:
    """Where a redaction started with --no-wait stands."""
    with cmd.session() as admin:
        state = admin.users.redaction_status(redact_id)
    _report_redaction(cmd, redact_id, state, final=False)


def _report_redaction(cmd: Cmd, redact_id: str, state: RedactStatus, final: bool = True) -> None:
    from wmx.admin.present import show_redaction

    cmd.show({"redact_id": redact_id, **state}, lambda: show_redaction(redact_id, state))
    if final:
        fail_unless_complete("the redaction", state)
    if state.get("failed_redactions"):
        raise typer.Exit(1)


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
    command(app)(deactivate)
    for field, (on, on_help, on_done), (off, off_help, off_done) in ACCOUNT_FLAGS:
        switch = _account_flag(field, on, on=on_done, off=off_done)
        on_off_commands(app, ("user", UserId), switch, on=(on, on_help), off=(off, off_help))
    command(app)(devices)
    command(app)(redact)
    command(app, "redact-status")(redact_status)
