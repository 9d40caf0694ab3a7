"""`wmx user`: accounts on the homeserver, through the Admin API."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli import moderation
from wmx.cli.admin_support import Cmd, GeneratePassword, Limit, PasswordFile, UserId, command, lazy
from wmx.cli.common import checked, group

if TYPE_CHECKING:
    from wmx.admin.actions import user as ops
else:
    ops = lazy("wmx.admin.actions.user")

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
    cmd.run(ops.listing, guests, deactivated, admins, name, limit)


@command(app)
def show(cmd: Cmd, user: UserId) -> None:
    """Everything Synapse knows about one account."""
    cmd.run(ops.show, cmd.user_id(user))


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
    from wmx.admin.passwords import new_password
    from wmx.site.model import check_email

    user_id = checked(lambda v: check_new_user_id(v, cmd.site.config.server_name), localpart)
    email = checked(check_email, email) if email else email
    password = new_password(password_file, generate_password, who=user_id)
    cmd.run(ops.create, user_id, password, admin_flag, display_name, email)


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
    from wmx.admin.user_import import parse_user_csv

    rows = parse_user_csv(csv_file, cmd.site.config.server_name)
    cmd.run(ops.import_csv, rows, passwords_out)


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
    from wmx.admin.passwords import new_password

    user_id = cmd.user_id(user, refuse="reset the password of")
    password = new_password(password_file, generate_password, who=user_id)
    cmd.run(ops.reset_password, user_id, password, keep_devices=keep_devices)


@command(app, "admin")
def set_admin(
    cmd: Cmd,
    user: UserId,
    state: Annotated[OnOff, typer.Argument(help="on: make a server admin; off: revoke.")],
) -> None:
    """Grant or revoke server admin rights."""
    user_id = cmd.user_id(user, refuse="revoke admin rights of" if state is OnOff.off else None)
    cmd.run(ops.set_admin, user_id, state is OnOff.on)


# Moderation (deactivate, lock, suspend, shadow-ban, devices, redact) in its own module.
moderation.register(app)


@command(app)
def whois(cmd: Cmd, user: UserId) -> None:
    """Where and with what an account is connected: devices, addresses, clients."""
    cmd.run(ops.whois, cmd.user_id(user))
