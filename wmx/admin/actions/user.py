"""`wmx user`: accounts and their moderation (deactivate one or many, lock, suspend,
shadow-ban, prune devices, redact; the loops over many targets are wmx.admin.bulk), and
`wmx admin bootstrap`, the first human admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wmx.admin.account import admin_user_id
from wmx.admin.act import Act, Done, Paged, Record, Results, Rows
from wmx.admin.actions.service import bridge_accounts
from wmx.admin.bulk import deactivate_each, deactivation_targets, stale_devices
from wmx.admin.http import NotFoundError
from wmx.admin.passwords import NewPassword
from wmx.admin.passwords import new_password as new_password  # for the commands
from wmx.admin.present import (
    CONNECTION_COLUMNS,
    DEVICE_COLUMNS,
    PRUNED_DEVICE_COLUMNS,
    USER_COLUMNS,
    USER_FIELDS,
    follow_task,
    import_columns,
    show_bootstrap,
    show_redaction,
)
from wmx.admin.types import RedactStatus, UserDetails
from wmx.admin.user_import import ImportRow, import_users, tally
from wmx.admin.user_import import parse_user_csv as parse_user_csv  # for the commands
from wmx.admin.users import AccountFlag, connections
from wmx.errors import InputError
from wmx.present import Column, Report, columns, esc, exit_if, fail_unless_complete


def listing(
    act: Act, guests: bool, deactivated: bool, admins: bool, name: str | None, limit: int | None
) -> Paged:
    """Local accounts (guests, deactivated ones when asked; only admins), those whose id
    or display name contains `name`, at most `limit`."""
    pages = act.admin.users.pages(
        guests=guests, deactivated=deactivated, admins_only=admins, name=name, limit=limit
    )
    return Paged(pages, USER_COLUMNS, empty="no accounts match")


def show(act: Act, user_id: str) -> Record:
    """The account, with the rooms it is in."""
    details: dict[str, Any] = dict(act.user(user_id))
    details["joined_rooms"] = act.admin.users.joined_rooms(user_id)
    return Record(details, USER_FIELDS)


def _with_password(message: str, data: dict[str, Any], password: NewPassword) -> Done:
    extra, note = password.shown(data["user_id"])
    return Done(message, {**data, **extra}, note=note)


def create(
    act: Act, user_id: str, password: NewPassword, admin: bool, name: str | None, email: str | None
) -> Done:
    """Create the account (a server admin with `admin`; display `name`, e-mail address)."""
    existing = _existing(act, user_id)
    if existing is not None and existing.get("deactivated"):
        raise InputError(
            f"{user_id} already exists and is deactivated; `wmx user reactivate {user_id}` "
            "lets it log in again with a new password"
        )
    if existing is not None:
        raise InputError(
            f"{user_id} already exists; `wmx user reset-password` changes its password"
        )
    created = act.admin.users.create(
        user_id, password.value, admin=admin, displayname=name, email=email
    )
    return _with_password(
        f"Created {'admin ' if admin else ''}[bold]{esc(user_id)}[/].",
        {"user_id": user_id, "admin": bool(created.get("admin")), "created": True},
        password,
    )


def import_csv(act: Act, rows: list[ImportRow], passwords_out: Path | None) -> Rows:
    """Create each row's account unless it exists; generated passwords are shown once,
    or appended to `passwords_out`. Exit 1 when a row failed."""
    results = import_users(act.admin, rows, passwords_out)
    show_passwords = passwords_out is None
    counts = tally(results)
    note = f"{counts['created']} created, {counts['exists']} already there, "
    note += f"{counts['failed']} failed."
    if passwords_out and counts["created"]:
        note += f"\nGenerated passwords appended to {esc(passwords_out)}."
    return Rows(
        [r.as_dict(with_password=show_passwords) for r in results],
        import_columns(show_passwords),
        note=note,
        check=exit_if(counts["failed"]),
    )


def _existing(act: Act, user_id: str) -> UserDetails | None:
    try:
        return act.user(user_id)
    except NotFoundError:
        return None


def _refuse_deactivated(user_id: str, details: UserDetails) -> None:
    """A deactivated account cannot log in whatever its password (Synapse answers
    M_USER_DEACTIVATED): a new one handed out would not work."""
    if details.get("deactivated"):
        raise InputError(
            f"{user_id} is deactivated: no password lets it log in; "
            f"`wmx user reactivate {user_id}` reactivates it with a new password"
        )


def reset_password(act: Act, user_id: str, password: NewPassword, *, keep_devices: bool) -> Done:
    """Replace the password (after asking: the old one stops working), and log the
    account out of every session unless `keep_devices`."""
    _refuse_deactivated(user_id, act.user(user_id))
    if keep_devices:
        act.ask(f"Replace {user_id}'s password? The old one stops working; sessions stay")
    else:
        act.ask(
            f"Replace {user_id}'s password and log it out everywhere? The old password stops "
            "working, every session ends, and messages whose encryption keys only those "
            "devices hold can no longer be read (--keep-devices keeps the sessions)"
        )
    act.admin.users.reset_password(user_id, password.value, logout_devices=not keep_devices)
    sessions = "sessions kept" if keep_devices else "logged out everywhere"
    return _with_password(
        f"New password set for [bold]{esc(user_id)}[/] ({sessions}).",
        {"user_id": user_id, "logged_out": not keep_devices},
        password,
    )


def reactivate(act: Act, user_id: str, password: NewPassword) -> Done:
    """Let a deactivated account log in again, with a new password (deactivation removed
    its old one). Its rooms, e-mail addresses and, when erased, its profile stay gone."""
    details = act.user(user_id)
    if not details.get("deactivated"):
        return Done(
            f"[bold]{esc(user_id)}[/] is not deactivated (nothing to do; "
            "`wmx user reset-password` changes its password).",
            {"user_id": user_id, "deactivated": False, "changed": False},
        )
    act.admin.users.put(user_id, {"deactivated": False, "password": password.value})
    extra, shown = password.shown(user_id)
    rooms = "  It is in no room any more (deactivation made it leave them): invite it back."
    return Done(
        f"Reactivated [bold]{esc(user_id)}[/]: it can log in again with the new password.",
        {"user_id": user_id, "deactivated": False, "changed": True, **extra},
        note="\n".join(line for line in (shown, rooms) if line),
    )


def set_admin(act: Act, user_id: str, on: bool) -> Done:
    act.user(user_id)
    act.admin.users.set_admin(user_id, on)
    return Done(
        f"[bold]{esc(user_id)}[/] is {'now' if on else 'no longer'} a server admin.",
        {"user_id": user_id, "admin": on},
    )


def whois(act: Act, user_id: str) -> Rows:
    act.user(user_id)
    info = act.admin.users.whois(user_id)
    empty = f"{user_id} has no recorded connections"
    return Rows(connections(info), CONNECTION_COLUMNS, empty=empty, data=info)


def bootstrap(act: Act, user_id: str, password_file: Path | None) -> Report:
    """Create `user_id` as a server admin unless it exists (its password from the file,
    else generated), and say how to log in."""
    users = act.admin.users
    existing = users.get(user_id) if users.exists(user_id) else None
    password: NewPassword | None = None
    if existing is None:
        password = new_password(password_file, password_file is None, who=user_id)
        users.create(user_id, password.value, admin=True)
    config = act.site.config
    generated = password.value if password is not None and password.generated else None
    return Report(
        None,
        lambda: show_bootstrap(
            user_id,
            existing,
            homeserver_host=config.homeserver.host,
            server_name=config.server_name,
            generated=generated,
        ),
    )


# Moderation


def deactivate(act: Act, user_id: str, *, erase: bool, dry_run: bool) -> Done:
    """Deactivate one account (and erase its data with `erase`). One already deactivated
    (and erased, when asked) is left as it is: the goal holds, as after a re-run."""
    details = act.user(user_id)
    erased = bool(details.get("erased"))
    if details.get("deactivated") and (erased or not erase):
        state = "deactivated and erased" if erased else "deactivated"
        return Done(
            f"[bold]{esc(user_id)}[/] is already {state} (nothing to do).",
            {"user_id": user_id, "deactivated": True, "erased": erased, "changed": False},
        )
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
    """Deactivate every active account matching `pattern`, never a server admin, wmx's
    own or the IRC bridge's (only list them with `dry_run`)."""
    own = admin_user_id(act.site)
    targets = deactivation_targets(act.admin, pattern, own, bridge_accounts(act.site))
    if dry_run or not targets:
        return Rows(
            [{"user_id": t} for t in targets],
            columns("would deactivate:user_id"),
            empty=f"no active non-admin account matches {pattern!r}",
        )
    act.ask(f"Deactivate {len(targets)} account(s) matching {pattern!r}?")
    results = deactivate_each(act.admin, targets, erase=erase)
    return Results(results, Column.key("user", "user_id"), ok="deactivated")


# What `lock`, `suspend` and `shadow-ban` (and the commands undoing them) say they did.
FLAG_DONE: dict[AccountFlag, tuple[str, str]] = {
    "locked": ("is locked", "is unlocked"),
    "suspended": ("is suspended", "is no longer suspended"),
    "shadow_banned": ("is shadow-banned", "is no longer shadow-banned"),
}


def set_flag(act: Act, user_id: str, field: AccountFlag, value: bool) -> Done:
    act.user(user_id)
    act.admin.users.set_flag(field, user_id, value)
    done = FLAG_DONE[field][0 if value else 1]
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
