"""`wmx secrets`: replace a generated secret on purpose (never silently, never shown)."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.common import StdinOption, group, site_root

app = group("secrets")


@app.command()
def rotate(
    ctx: typer.Context,
    names: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME",
            help="The secret, e.g. macaroon_secret_key, or several; database_ca for the "
            "database's TLS CA (pki/, docs/database.md).",
        ),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask (scripts); still says what breaks.")
    ] = False,
) -> None:
    """Generate a new value for a secret (or several), after saying what that breaks.

    Also the way back when secrets.yml lost secrets and no copy of it is left (the
    error names every secret lost, and the command that replaces them).
    Apply with `wmx deploy`; then update the copy of secrets.yml you keep.
    `database_ca` makes a new CA for the database's TLS (kept in pki/ beside
    secrets.yml) and with it a new certificate for PostgreSQL.
    """
    from wmx.ops.secrets import rotate_command

    rotate_command(site_root(ctx), names, yes)


@app.command("sudo-password")
def sudo_password(
    ctx: typer.Context,
    stdin: StdinOption = False,
    clear: Annotated[
        bool, typer.Option("--clear", help="Forget it: sudo asks for none (NOPASSWD).")
    ] = False,
) -> None:
    """Store the sudo password of the inventory's login user (ansible_user with
    ansible_become), for hosts whose sudo asks for one.

    Asked for twice without echo, or read from standard input (--stdin: its first
    line), never from the command line. wmx then gives it to Ansible as its become
    password file and to its own SSH commands (status, logs, backup, restore, drill,
    upgrade) on sudo's standard input. Not needed when sudo asks for no password (most
    cloud images: NOPASSWD).
    """
    from wmx.ops.secrets import sudo_password_command

    sudo_password_command(site_root(ctx), stdin, clear)
