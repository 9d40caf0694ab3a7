"""`wmx user`: accounts on the homeserver, through the Admin API."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wmx.cli.admin_support import (
    AdminUrl,
    GeneratePassword,
    Limit,
    Output,
    PasswordFile,
    Switch,
    Yes,
    confirm,
    emit_done_with_password,
    new_password,
    on_off_commands,
    room_arg,
    session,
    user_arg,
    user_session,
)
from wmx.cli.common import OutputFormat, checked, console, open_site
from wmx.cli.present import (
    Column,
    emit_data,
    emit_done,
    emit_pages,
    emit_record,
    emit_results,
    emit_rows,
    esc,
    fail_unless_complete,
    follow_task,
    when,
)
from wmx.errors import InputError

if TYPE_CHECKING:
    from wmx.admin.types import RedactStatus
    from wmx.site import Site

app = typer.Typer(
    help="Accounts: list, create, import, reset passwords, deactivate, moderate.",
    no_args_is_help=True,
)

UserId = Annotated[str, typer.Argument(help="User id (@name:server) or just the name.")]


class OnOff(StrEnum):
    on = "on"
    off = "off"


LIST_COLUMNS = [
    Column.key("user", "name"),
    Column.key("display name", "displayname"),
    Column.key("admin", "admin"),
    Column.key("guest", "is_guest"),
    Column.key("deactivated", "deactivated"),
    Column.key("locked", "locked"),
    Column.key("last seen", "last_seen_ts", when),
    Column.key("created", "creation_ts", when),
]


@app.command("list")
def list_users(
    ctx: typer.Context,
    guests: Annotated[bool, typer.Option("--guests", help="Include guest accounts.")] = False,
    deactivated: Annotated[
        bool, typer.Option("--deactivated", help="Include deactivated accounts.")
    ] = False,
    admins: Annotated[bool, typer.Option("--admins", help="Only server admins.")] = False,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Only ids or display names containing this text."),
    ] = None,
    limit: Limit = None,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """List local accounts with when each was last seen (printed as they arrive)."""
    site = open_site(ctx)
    with session(site, url) as admin:
        pages = admin.users.pages(
            guests=guests, deactivated=deactivated, admins_only=admins, name=name, limit=limit
        )
        emit_pages(pages, output, LIST_COLUMNS, empty="no accounts match")


@app.command()
def show(
    ctx: typer.Context, user: UserId, output: Output = OutputFormat.table, url: AdminUrl = None
) -> None:
    """Everything Synapse knows about one account."""
    site = open_site(ctx)
    user_id = user_arg(site, user)
    with session(site, url) as admin:
        details: dict[str, Any] = dict(admin.users.get(user_id))
        details["joined_rooms"] = admin.users.joined_rooms(user_id)
    emails = [
        t.get("address") for t in details.get("threepids") or [] if t.get("medium") == "email"
    ]
    emit_record(
        details,
        output,
        [
            Column.key("user", "name"),
            Column.key("display name", "displayname"),
            Column.key("admin", "admin"),
            Column.key("guest", "is_guest"),
            Column.key("user type", "user_type"),
            Column.key("deactivated", "deactivated"),
            Column.key("erased", "erased"),
            Column.key("locked", "locked"),
            Column.key("suspended", "suspended"),
            Column.key("shadow-banned", "shadow_banned"),
            Column("e-mail", lambda _: ", ".join(str(e) for e in emails)),
            Column.key("created", "creation_ts", when),
            Column.key("last seen", "last_seen_ts", when),
            Column("rooms", lambda d: len(d["joined_rooms"])),
        ],
    )


@app.command()
def create(
    ctx: typer.Context,
    localpart: Annotated[str, typer.Argument(help="The new account's name (@NAME:server).")],
    admin_flag: Annotated[bool, typer.Option("--admin", help="Make it a server admin.")] = False,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Attach this e-mail address.")
    ] = None,
    password_file: PasswordFile = None,
    generate_password: GeneratePassword = False,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Create an account. The password comes from a file, a prompt, or is generated."""
    from wmx.admin.ids import check_new_user_id
    from wmx.site.model import check_email

    site = open_site(ctx)
    user_id = checked(lambda v: check_new_user_id(v, site.config.server_name), localpart)
    if email:
        email = checked(check_email, email)
    password = new_password(password_file, generate_password, who=user_id)
    with session(site, url) as admin:
        if admin.users.exists(user_id):
            raise InputError(
                f"{user_id} already exists; `wmx user reset-password` changes its password"
            )
        created = admin.users.create(
            user_id, password.value, admin=admin_flag, displayname=display_name, email=email
        )
    emit_done_with_password(
        output,
        f"Created {'admin ' if admin_flag else ''}[bold]{esc(user_id)}[/].",
        {"user_id": user_id, "admin": bool(created.get("admin")), "created": True},
        password,
        user_id,
    )


@app.command("import")
def import_csv(
    ctx: typer.Context,
    csv_file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header: localpart (or user_id); optional display_name, email, "
            "admin (yes/no), password.",
            exists=True,
            dir_okay=False,
        ),
    ],
    passwords_out: Annotated[
        Path | None,
        typer.Option(
            "--passwords-out",
            help="Append generated passwords to this CSV file (mode 0600) instead of showing them.",
        ),
    ] = None,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Create many accounts at once; re-running skips the accounts that exist.

    Rows without a password get a generated one, shown once (or written to
    --passwords-out). The whole file is checked first: one bad row, nothing is sent.
    """
    from wmx.admin.user_import import import_users, parse_user_csv

    site = open_site(ctx)
    rows = parse_user_csv(csv_file, site.config.server_name)
    with session(site, url) as admin:
        results = import_users(admin, rows, passwords_out)
    show_passwords = passwords_out is None
    data = [r.as_dict(with_password=show_passwords) for r in results]
    emit_rows(
        data,
        output,
        [
            Column.key("line", "line"),
            Column.key("user", "user_id"),
            Column.key("result", "result"),
            *([Column.key("password (shown once)", "password")] if show_passwords else []),
        ],
    )
    failed = [r for r in results if r.result.startswith("failed")]
    if output is OutputFormat.table:
        created = sum(r.result == "created" for r in results)
        console.print(
            f"{created} created, {sum(r.result == 'exists' for r in results)} already there, "
            f"{len(failed)} failed."
        )
        if passwords_out and created:
            console.print(f"Generated passwords appended to {esc(passwords_out)}.")
    if failed:
        raise typer.Exit(1)


@app.command("reset-password")
def reset_password(
    ctx: typer.Context,
    user: UserId,
    password_file: PasswordFile = None,
    generate_password: GeneratePassword = False,
    keep_devices: Annotated[
        bool, typer.Option("--keep-devices", help="Keep the account's sessions logged in.")
    ] = False,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Set a new password (and log the account out everywhere, unless --keep-devices)."""
    from wmx.admin.targets import refuse_own_account

    site = open_site(ctx)
    user_id = user_arg(site, user)
    refuse_own_account(site, user_id, "reset the password of")
    password = new_password(password_file, generate_password, who=user_id)
    with user_session(site, user_id, url) as (admin, _):
        admin.users.reset_password(user_id, password.value, logout_devices=not keep_devices)
    sessions = "sessions kept" if keep_devices else "logged out everywhere"
    emit_done_with_password(
        output,
        f"New password set for [bold]{esc(user_id)}[/] ({sessions}).",
        {"user_id": user_id, "logged_out": not keep_devices},
        password,
        user_id,
    )


@app.command("admin")
def set_admin(
    ctx: typer.Context,
    user: UserId,
    state: Annotated[OnOff, typer.Argument(help="on: make a server admin; off: revoke.")],
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Grant or revoke server admin rights."""
    site = open_site(ctx)
    refuse = "revoke admin rights of" if state is OnOff.off else None
    with user_session(site, user, url, refuse=refuse) as (admin, user_id):
        admin.users.set_admin(user_id, state is OnOff.on)
    emit_done(
        output,
        f"[bold]{esc(user_id)}[/] is {'now' if state is OnOff.on else 'no longer'} a server admin.",
        {"user_id": user_id, "admin": state is OnOff.on},
    )


@app.command()
def deactivate(
    ctx: typer.Context,
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
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Deactivate an account (it can no longer log in), or many with --regex."""
    from wmx.admin.targets import refuse_own_account

    site = open_site(ctx)
    if (user is None) == (regex is None):
        raise InputError("name one user, or give --regex PATTERN (not both)")
    if regex is not None:
        checked(_regex, regex)
        _deactivate_matching(site, regex, erase, dry_run, yes, output, url)
        return
    assert user is not None
    user_id = user_arg(site, user)
    refuse_own_account(site, user_id, "deactivate")
    with session(site, url) as admin:
        details = admin.users.get(user_id)
        if details.get("deactivated") and not erase:
            raise InputError(f"{user_id} is already deactivated")
        if dry_run:
            emit_done(output, f"Would deactivate {esc(user_id)}.", {"would_deactivate": [user_id]})
            return
        what = "Deactivate and erase" if erase else "Deactivate"
        confirm(f"{what} {user_id}? They can no longer log in", yes)
        admin.users.deactivate(user_id, erase=erase)
    emit_done(
        output,
        f"Deactivated [bold]{esc(user_id)}[/]{' and erased its data' if erase else ''}.",
        {"user_id": user_id, "deactivated": True, "erased": erase},
    )


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
    return value


def _deactivate_matching(
    site: Site,
    pattern: str,
    erase: bool,
    dry_run: bool,
    yes: bool,
    output: OutputFormat,
    url: str | None,
) -> None:
    from wmx.admin.account import admin_user_id
    from wmx.admin.bulk import deactivate_each, deactivation_targets

    with session(site, url) as admin:
        targets = deactivation_targets(admin, pattern, admin_user_id(site))
        if dry_run or not targets:
            emit_rows(
                [{"user_id": t} for t in targets],
                output,
                [Column.key("would deactivate", "user_id")],
                empty=f"no active non-admin account matches {pattern!r}",
            )
            return
        confirm(f"Deactivate {len(targets)} account(s) matching {pattern!r}?", yes)
        results = deactivate_each(admin, targets, erase=erase)
    emit_results(results, output, Column.key("user", "user_id"), ok="deactivated")


def _account_flag(field: str, action: str, *, on: str, off: str) -> Switch:
    """lock, suspend and shadow-ban differ only in the flag they set; wmx will not set
    one on its own admin account (`action` says what it refuses)."""

    def switch(
        ctx: typer.Context, user: str, value: bool, output: OutputFormat, url: str | None
    ) -> None:
        site = open_site(ctx)
        with user_session(site, user, url, refuse=action if value else None) as (admin, user_id):
            setters = {
                "locked": admin.users.set_locked,
                "suspended": admin.users.set_suspended,
                "shadow_banned": admin.users.set_shadow_banned,
            }
            setters[field](user_id, value)
        done = on if value else off
        emit_done(output, f"[bold]{esc(user_id)}[/] {done}.", {"user_id": user_id, field: value})

    return switch


on_off_commands(
    app,
    ("user", UserId),
    _account_flag("locked", "lock", on="is locked", off="is unlocked"),
    on=(
        "lock",
        "Lock an account: it cannot log in or use its sessions until unlocked (reversible).",
    ),
    off=("unlock", "Unlock a locked account."),
)
on_off_commands(
    app,
    ("user", UserId),
    _account_flag("suspended", "suspend", on="is suspended", off="is no longer suspended"),
    on=("suspend", "Suspend an account: it can read but not send, join or change its profile."),
    off=("unsuspend", "Lift a suspension."),
)
on_off_commands(
    app,
    ("user", UserId),
    _account_flag(
        "shadow_banned", "shadow-ban", on="is shadow-banned", off="is no longer shadow-banned"
    ),
    on=("shadow-ban", "Shadow-ban: their messages seem to send but reach nobody (for spam bots)."),
    off=("unshadow-ban", "Lift a shadow-ban."),
)


DEVICE_COLUMNS = [
    Column.key("device", "device_id"),
    Column.key("name", "display_name"),
    Column.key("last seen", "last_seen_ts", when),
    Column.key("from", "last_seen_ip"),
    Column.key("client", "last_seen_user_agent"),
]


@app.command()
def devices(
    ctx: typer.Context,
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
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """List an account's devices (sessions); prune stale ones."""
    from wmx.admin.bulk import stale_devices
    from wmx.admin.ids import check_days

    site = open_site(ctx)
    user_id = user_arg(site, user)
    if prune_older_than is not None:
        checked(lambda v: check_days(int(v)), str(prune_older_than))
    with session(site, url) as admin:
        found = admin.users.devices(user_id)
        if prune_older_than is None:
            emit_rows(found, output, DEVICE_COLUMNS, empty=f"{user_id} has no devices")
            return
        stale = stale_devices(found, prune_older_than, never_seen=never_seen)
        if stale:
            confirm(f"Log out {len(stale)} of {user_id}'s {len(found)} device(s)?", yes)
            admin.users.delete_devices(user_id, [d["device_id"] for d in stale])
    emit_rows(
        stale,
        output,
        [Column("logged out", lambda d: d["device_id"]), *DEVICE_COLUMNS[1:]],
        empty=f"no device of {user_id} is older than {prune_older_than} day(s)",
    )


@app.command()
def redact(
    ctx: typer.Context,
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
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Redact (remove the content of) every event the account sent, in the background."""
    from wmx.admin.targets import existing_room

    site = open_site(ctx)
    room_refs = [room_arg(r) for r in rooms or []]
    with user_session(site, user, url) as (admin, user_id):
        room_ids = [existing_room(admin, r) for r in room_refs]
        where = f"{len(room_ids)} room(s)" if room_ids else "every room they are or were in"
        confirm(f"Redact every event {user_id} sent in {where}?", yes)
        redact_id = admin.users.start_redaction(user_id, rooms=room_ids, reason=reason)
        if not wait:
            emit_done(
                output,
                f"Redaction of {esc(user_id)} started: "
                f"`wmx user redact-status {esc(redact_id)}` follows it.",
                {"redact_id": redact_id, "status": "scheduled"},
            )
            return
        state = follow_task(
            f"Redacting {user_id}'s events", lambda: admin.users.redaction_status(redact_id)
        )
    _report_redaction(redact_id, state, output)


@app.command("redact-status")
def redact_status(
    ctx: typer.Context,
    redact_id: Annotated[str, typer.Argument(help="The id `wmx user redact --no-wait` printed.")],
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Where a redaction started with --no-wait stands."""
    site = open_site(ctx)
    with session(site, url) as admin:
        state = admin.users.redaction_status(redact_id)
    _report_redaction(redact_id, state, output, final=False)


def _report_redaction(
    redact_id: str, state: RedactStatus, output: OutputFormat, final: bool = True
) -> None:
    failed = state.get("failed_redactions") or {}
    if output is not OutputFormat.table:
        emit_data({"redact_id": redact_id, **state}, output)
    else:
        console.print(f"Redaction {esc(redact_id)}: [bold]{esc(state.get('status'))}[/]")
        for event_id, cause in failed.items():
            console.print(f"  not redacted: {esc(event_id)}: {esc(cause)}")
    if final:
        fail_unless_complete("the redaction", state)
    if failed:
        raise typer.Exit(1)


@app.command()
def whois(
    ctx: typer.Context, user: UserId, output: Output = OutputFormat.table, url: AdminUrl = None
) -> None:
    """Where and with what an account is connected: devices, addresses, clients."""
    site = open_site(ctx)
    with user_session(site, user, url) as (admin, user_id):
        info = admin.users.whois(user_id)
    rows = [
        {"device": device, **connection}
        for device, body in (info.get("devices") or {}).items()
        for session_ in body.get("sessions", [])
        for connection in session_.get("connections", [])
    ]
    emit_rows(
        rows,
        output,
        [
            Column.key("device", "device"),
            Column.key("address", "ip"),
            Column.key("last seen", "last_seen", when),
            Column.key("client", "user_agent"),
        ],
        empty=f"{user_id} has no recorded connections",
        data=info,
    )
