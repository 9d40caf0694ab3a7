"""`wmx user`: accounts (moderation is wmx.admin.actions.moderation), and `wmx admin
bootstrap`, the first human admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wmx.admin.act import Act, Done, Paged, Record, Report, Rows, exit_if
from wmx.admin.passwords import NewPassword, new_password
from wmx.admin.present import (
    CONNECTION_COLUMNS,
    USER_COLUMNS,
    USER_FIELDS,
    import_columns,
    show_bootstrap,
)
from wmx.admin.user_import import ImportRow, import_users, tally
from wmx.admin.users import connections
from wmx.errors import InputError
from wmx.present import esc


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
    if act.admin.users.exists(user_id):
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


def reset_password(act: Act, user_id: str, password: NewPassword, *, keep_devices: bool) -> Done:
    act.user(user_id)
    act.admin.users.reset_password(user_id, password.value, logout_devices=not keep_devices)
    sessions = "sessions kept" if keep_devices else "logged out everywhere"
    return _with_password(
        f"New password set for [bold]{esc(user_id)}[/] ({sessions}).",
        {"user_id": user_id, "logged_out": not keep_devices},
        password,
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
