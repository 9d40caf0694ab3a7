"""`wmx user` moderation: deactivate (one or many), account flags (lock, suspend,
shadow-ban), prune devices, redact. The loops over many targets are wmx.admin.bulk."""

from __future__ import annotations

from wmx.admin.account import admin_user_id
from wmx.admin.act import Act, Done, Report, Results, Rows, exit_if
from wmx.admin.bulk import deactivate_each, deactivation_targets, stale_devices
from wmx.admin.present import (
    DEVICE_COLUMNS,
    PRUNED_DEVICE_COLUMNS,
    follow_task,
    show_redaction,
)
from wmx.admin.types import RedactStatus
from wmx.admin.users import AccountFlag
from wmx.errors import InputError
from wmx.present import Column, columns, esc, fail_unless_complete


def deactivate(act: Act, user_id: str, *, erase: bool, dry_run: bool) -> Done:
    """Deactivate one account (and erase its data with `erase`)."""
    if act.user(user_id).get("deactivated") and not erase:
        raise InputError(f"{user_id} is already deactivated")
    if dry_run:
        return Done(f"Would deactivate {esc(user_id)}.", {"would_deactivate": [user_id]})
    what = "Deactivate and erase" if erase else "Deactivate"
    act.ask(f"{what} {user_id}? They can no longer log in")
    act.admin.users.deactivate(user_id, erase=erase)
    return Done(
        f"Deactivated [bold]{esc(user_id)}[/]{' and erased its data' if erase else ''}.",
        {"user_id": user_id, "deactivated": True, "erased": erase},
    )


def deactivate_matching(act: Act, pattern: str, *, erase: bool, dry_run: bool) -> Rows | Results:
    """Deactivate every active account matching `pattern`, never a server admin or wmx's
    own (only list them with `dry_run`)."""
    targets = deactivation_targets(act.admin, pattern, admin_user_id(act.site))
    if dry_run or not targets:
        return Rows(
            [{"user_id": t} for t in targets],
            columns("would deactivate:user_id"),
            empty=f"no active non-admin account matches {pattern!r}",
        )
    act.ask(f"Deactivate {len(targets)} account(s) matching {pattern!r}?")
    results = deactivate_each(act.admin, targets, erase=erase)
    return Results(results, Column.key("user", "user_id"), ok="deactivated")


def set_flag(act: Act, user_id: str, field: AccountFlag, value: bool, done: str) -> Done:
    act.user(user_id)
    act.admin.users.set_flag(field, user_id, value)
    return Done(f"[bold]{esc(user_id)}[/] {done}.", {"user_id": user_id, field: value})


def devices(act: Act, user_id: str, older_than: int | None, *, never_seen: bool) -> Rows:
    """An account's devices, or those not seen for `older_than` days, logged out."""
    found = act.admin.users.devices(user_id)
    if older_than is None:
        return Rows(found, DEVICE_COLUMNS, empty=f"{user_id} has no devices")
    stale = stale_devices(found, older_than, never_seen=never_seen)
    if stale:
        act.ask(f"Log out {len(stale)} of {user_id}'s {len(found)} device(s)?")
        act.admin.users.delete_devices(user_id, [d["device_id"] for d in stale])
    empty = f"no device of {user_id} is older than {older_than} day(s)"
    return Rows(stale, PRUNED_DEVICE_COLUMNS, empty=empty)


def redact(
    act: Act, user_id: str, rooms: list[str], *, reason: str | None, wait: bool
) -> Done | Report:
    """Redact every event the account sent (in `rooms`, or everywhere), in the background;
    with `wait`, follow it to the end."""
    act.user(user_id)
    room_ids = [act.room(r) for r in rooms]
    where = f"{len(room_ids)} room(s)" if room_ids else "every room they are or were in"
    act.ask(f"Redact every event {user_id} sent in {where}?")
    redact_id = act.admin.users.start_redaction(user_id, rooms=room_ids, reason=reason)
    if not wait:
        return Done(
            f"Redaction of {esc(user_id)} started: "
            f"`wmx user redact-status {esc(redact_id)}` follows it.",
            {"redact_id": redact_id, "status": "scheduled"},
        )
    state = follow_task(
        f"Redacting {user_id}'s events", lambda: act.admin.users.redaction_status(redact_id)
    )
    return redaction(redact_id, state)


def redact_status(act: Act, redact_id: str) -> Report:
    return redaction(redact_id, act.admin.users.redaction_status(redact_id), final=False)


def redaction(redact_id: str, state: RedactStatus, final: bool = True) -> Report:
    """A redaction's status; a final one that is not complete, or any event not
    redacted, fails the command."""

    def check() -> None:
        if final:
            fail_unless_complete("the redaction", state)
        exit_if(state.get("failed_redactions"))()

    data = {"redact_id": redact_id, **state}
    return Report(data, lambda: show_redaction(redact_id, state), check=check)
