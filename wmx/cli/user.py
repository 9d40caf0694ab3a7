"""`wmx user`: accounts on the homeserver, through the Admin API, and their moderation
(deactivate one or many, lock, suspend, shadow-ban, prune devices, redact)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.admin_support import (
    Cmd,
    GeneratePassword,
    Limit,
    PasswordFile,
    Switch,
    UserId,
    command,
    ids,
    lazy,
    on_off_commands,
)
from wmx.cli.admin_support import room_arg as ref
from wmx.cli.common import checked, group
from wmx.errors import InputError

if TYPE_CHECKING:
    from wmx.admin.actions import user as ops
    from wmx.admin.users import AccountFlag
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
        typer.Option(
            "--name",
            help="Only ids or display names containing this text (Synapse reads _ and % in "
            "it as wildcards).",
        ),
    ] = None,
    limit: Limit = None,
) -> None:
    """List local accounts with when each was last seen (printed as they arrive)."""
    cmd.run(ops.listing, guests, deactivated, admins, name, limit)


@command(app)
def show(cmd: Cmd, user: UserId) -> None:
    """Everything Synapse knows about one account."""
    cmd.run(ops.show, cmd.user_id(user))


@command(app, yes="accepted")
def create(
    cmd: Cmd,
    localpart: Annotated[str, typer.Argument(help="The new account's name (@NAME:server).")],
    admin_flag: Annotated[bool, typer.Option("--admin", help="Make it a server admin.")] = False,
    display_name: Annotated[
        str | None,
        typer.Option("--display-name", help="The name clients show (default: LOCALPART)."),
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Attach this e-mail address.")
    ] = None,
    password_file: PasswordFile = None,
    generate_password: GeneratePassword = False,
) -> None:
    """Create an account. The password comes from a file, a prompt, or is generated."""
    user_id = cmd.local(ids.check_new_user_id, localpart)
    if display_name is not None:
        display_name = checked(ids.check_plain_text, display_name)
    email = checked(ids.check_email, email) if email else email
    password = ops.new_password(password_file, generate_password, who=user_id)
    cmd.run(ops.create, user_id, password, admin_flag, display_name, email)


@command(app, "import", yes="accepted")
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
    rows = ops.parse_user_csv(csv_file, cmd.site.config.server_name)
    cmd.run(ops.import_csv, rows, passwords_out)


@command(app, "reset-password", yes=True)
def reset_password(
    cmd: Cmd,
    user: UserId,
    password_file: PasswordFile = None,
    generate_password: GeneratePassword = False,
    keep_devices: Annotated[
        bool, typer.Option("--keep-devices", help="Keep the account's sessions logged in.")
    ] = False,
) -> None:
    """Set a new password (and log the account out everywhere, unless --keep-devices).

    Asks first: the old password stops working, and ending the sessions loses the
    encryption keys only those devices hold.
    """
    user_id = cmd.user_id(user, refuse="reset the password of")
    password = ops.new_password(password_file, generate_password, who=user_id)
    cmd.run(ops.reset_password, user_id, password, keep_devices=keep_devices)


@command(app, yes="accepted")
def reactivate(
    cmd: Cmd,
    user: UserId,
    password_file: PasswordFile = None,
    generate_password: GeneratePassword = False,
) -> None:
    """Let a deactivated account log in again, with a new password.

    Deactivation removed its password, rooms and e-mail addresses (and with --erase its
    profile): only the password comes back.
    """
    user_id = cmd.user_id(user)
    password = ops.new_password(password_file, generate_password, who=user_id)
    cmd.run(ops.reactivate, user_id, password)


@command(app, "admin", yes="accepted")
def set_admin(
    cmd: Cmd,
    user: UserId,
    state: Annotated[OnOff, typer.Argument(help="on: make a server admin; off: revoke.")],
) -> None:
    """Grant or revoke server admin rights."""
    user_id = cmd.user_id(user, refuse="revoke admin rights of" if state is OnOff.off else None)
    cmd.run(ops.set_admin, user_id, state is OnOff.on)


@command(app, yes=True)
def deactivate(
    cmd: Cmd,
    user: Annotated[
        str | None,
        typer.Argument(help="User id (@name:server) or just the name.", show_default=False),
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
    if (user is None) == (regex is None):
        raise InputError("name one user, or give --regex PATTERN (not both)")
    if regex is not None:
        pattern = checked(ids.check_regex, regex)
        cmd.run(ops.deactivate_matching, pattern, erase=erase, dry_run=dry_run)
        return
    user_id = cmd.user_id(str(user), refuse="deactivate")
    cmd.run(ops.deactivate, user_id, erase=erase, dry_run=dry_run)


# The account flags: the field, the command that sets it and its help, the one that
# clears it and its help.
ACCOUNT_FLAGS: list[tuple[AccountFlag, tuple[str, str], tuple[str, str]]] = [
    ("locked",
     ("lock", "Lock an account: it cannot log in or use its sessions until unlocked "
      "(reversible)."),
     ("unlock", "Unlock a locked account.")),
    ("suspended",
     ("suspend", "Suspend an account: it can read but not send, join or change its profile."),
     ("unsuspend", "Lift a suspension.")),
    ("shadow_banned",
     ("shadow-ban", "Shadow-ban: their messages seem to send but reach nobody (for spam bots)."),
     ("unshadow-ban", "Lift a shadow-ban.")),
]  # fmt: skip


def _flag(field: AccountFlag, action: str) -> Switch:
    """lock, suspend and shadow-ban differ only in the flag they set; wmx will not set
    one on its own admin account (`action` says what it refuses)."""

    def switch(cmd: Cmd, user: str, value: bool) -> None:
        cmd.run(ops.set_flag, cmd.user_id(user, refuse=action if value else None), field, value)

    return switch


for field, on, off in ACCOUNT_FLAGS:
    on_off_commands(app, ("user", UserId), _flag(field, on[0]), on=on, off=off)


@command(app, yes=True)
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
    # Pruning wmx's own sessions would log out the token every wmx process of the site
    # uses; listing them is harmless.
    pruning = prune_older_than is not None
    user_id = cmd.user_id(user, refuse="log out the sessions of" if pruning else None)
    if pruning:
        checked(lambda v: ids.check_days(int(v)), str(prune_older_than))
    cmd.run(ops.devices, user_id, prune_older_than, never_seen=never_seen)


@command(app, yes=True)
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
        bool, typer.Option("--wait/--no-wait", help="Wait for Synapse to finish.")
    ] = True,
) -> None:
    """Redact (remove the content of) every event the account sent, in the background."""
    room_refs = [ref(r) for r in rooms or []]
    user_id = cmd.user_id(user, refuse="redact the events of")
    cmd.run(ops.redact, user_id, room_refs, reason=reason, wait=wait)


@command(app, "redact-status")
def redact_status(
    cmd: Cmd,
    redact_id: Annotated[str, typer.Argument(help="The id `wmx user redact --no-wait` printed.")],
) -> None:
    """Where a redaction started with --no-wait stands."""
    cmd.run(ops.redact_status, redact_id)


@command(app)
def whois(cmd: Cmd, user: UserId) -> None:
    """Where and with what an account is connected: devices, addresses, clients."""
    cmd.run(ops.whois, cmd.user_id(user))
