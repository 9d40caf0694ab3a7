"""`wmx user`: accounts on the homeserver, through the Admin API."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from wmx.cli import moderation
from wmx.cli.admin_support import (
    Cmd,
    GeneratePassword,
    Limit,
    PasswordFile,
    UserId,
    command,
    new_password,
)
from wmx.cli.common import checked, console, group
from wmx.errors import InputError
from wmx.present import esc

app = group("user")


class OnOff(StrEnum):
    on = "on"
    off = "off"


@command(app, "list")
def list_users(
    cmd: Cmd,
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
) -> None:
    """List local accounts with when each was last seen (printed as they arrive)."""
    from wmx.admin.present import USER_COLUMNS

    with cmd.session() as admin:
        pages = admin.users.pages(
            guests=guests, deactivated=deactivated, admins_only=admins, name=name, limit=limit
        )
        cmd.pages(pages, USER_COLUMNS, empty="no accounts match")


@command(app)
def show(cmd: Cmd, user: UserId) -> None:
    """Everything Synapse knows about one account."""
    from wmx.admin.present import USER_FIELDS

    user_id = cmd.user_id(user)
    with cmd.session() as admin:
        details: dict[str, Any] = dict(admin.users.get(user_id))
        details["joined_rooms"] = admin.users.joined_rooms(user_id)
    cmd.record(details, USER_FIELDS)


@command(app)
def create(
    cmd: Cmd,
    localpart: Annotated[str, typer.Argument(help="The new account's name (@NAME:server).")],
    admin_flag: Annotated[bool, typer.Option("--admin", help="Make it a server admin.")] = False,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Attach this e-mail address.")
    ] = None,
    password_file: PasswordFile = None,
    generate_password: GeneratePassword = False,
) -> None:
    """Create an account. The password comes from a file, a prompt, or is generated."""
    from wmx.admin.ids import check_new_user_id
    from wmx.site.model import check_email

    user_id = checked(lambda v: check_new_user_id(v, cmd.site.config.server_name), localpart)
    if email:
        email = checked(check_email, email)
    password = new_password(password_file, generate_password, who=user_id)
    with cmd.session() as admin:
        if admin.users.exists(user_id):
            raise InputError(
                f"{user_id} already exists; `wmx user reset-password` changes its password"
            )
        created = admin.users.create(
            user_id, password.value, admin=admin_flag, displayname=display_name, email=email
        )
    cmd.done_with_password(
        f"Created {'admin ' if admin_flag else ''}[bold]{esc(user_id)}[/].",
        {"user_id": user_id, "admin": bool(created.get("admin")), "created": True},
        password,
    )


@command(app, "import")
def import_csv(
    cmd: Cmd,
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
) -> None:
    """Create many accounts at once; re-running skips the accounts that exist.

    Rows without a password get a generated one, shown once (or written to
    --passwords-out). The whole file is checked first: one bad row, nothing is sent.
    """
    from wmx.admin.present import import_columns
    from wmx.admin.user_import import import_users, parse_user_csv, tally

    rows = parse_user_csv(csv_file, cmd.site.config.server_name)
    with cmd.session() as admin:
        results = import_users(admin, rows, passwords_out)
    show_passwords = passwords_out is None
    data = [r.as_dict(with_password=show_passwords) for r in results]
    cmd.rows(data, import_columns(show_passwords))
    counts = tally(results)
    if cmd.table:
        console.print(
            f"{counts['created']} created, {counts['exists']} already there, "
            f"{counts['failed']} failed."
        )
        if passwords_out and counts["created"]:
            console.print(f"Generated passwords appended to {esc(passwords_out)}.")
    if counts["failed"]:
        raise typer.Exit(1)


@command(app, "reset-password")
def reset_password(
    cmd: Cmd,
    user: UserId,
    password_file: PasswordFile = None,
    generate_password: GeneratePassword = False,
    keep_devices: Annotated[
        bool, typer.Option("--keep-devices", help="Keep the account's sessions logged in.")
    ] = False,
) -> None:
    """Set a new password (and log the account out everywhere, unless --keep-devices)."""
    from wmx.admin.targets import refuse_own_account

    user_id = cmd.user_id(user)
    refuse_own_account(cmd.site, user_id, "reset the password of")
    password = new_password(password_file, generate_password, who=user_id)
    with cmd.user_session(user_id) as (admin, _):
        admin.users.reset_password(user_id, password.value, logout_devices=not keep_devices)
    sessions = "sessions kept" if keep_devices else "logged out everywhere"
    cmd.done_with_password(
        f"New password set for [bold]{esc(user_id)}[/] ({sessions}).",
        {"user_id": user_id, "logged_out": not keep_devices},
        password,
    )


@command(app, "admin")
def set_admin(
    cmd: Cmd,
    user: UserId,
    state: Annotated[OnOff, typer.Argument(help="on: make a server admin; off: revoke.")],
) -> None:
    """Grant or revoke server admin rights."""
    refuse = "revoke admin rights of" if state is OnOff.off else None
    with cmd.user_session(user, refuse=refuse) as (admin, user_id):
        admin.users.set_admin(user_id, state is OnOff.on)
    cmd.done(
        f"[bold]{esc(user_id)}[/] is {'now' if state is OnOff.on else 'no longer'} a server admin.",
        {"user_id": user_id, "admin": state is OnOff.on},
    )


# Moderation (deactivate, lock, suspend, shadow-ban, devices, redact) in its own module.
moderation.register(app)


@command(app)
def whois(cmd: Cmd, user: UserId) -> None:
    """Where and with what an account is connected: devices, addresses, clients."""
    from wmx.admin.present import CONNECTION_COLUMNS
    from wmx.admin.users import connections

    with cmd.user_session(user) as (admin, user_id):
        info = admin.users.whois(user_id)
    empty = f"{user_id} has no recorded connections"
    cmd.rows(connections(info), CONNECTION_COLUMNS, empty=empty, data=info)
