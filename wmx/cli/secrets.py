"""`wmx secrets`: replace a generated secret on purpose (never silently, never shown)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from wmx.cli.common import StdinOption, console, group, read_secret, site_root

app = group("secrets")


@app.command()
def rotate(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            help="The secret, e.g. macaroon_secret_key; database_ca for the database's "
            "TLS CA (pki/, docs/database.md)."
        ),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask (scripts); still says what breaks.")
    ] = False,
) -> None:
    """Generate a new value for one secret, after saying what that breaks.

    Also the way back when secrets.yml lost a secret and no copy of it is left.
    Apply with `wmx deploy`; then update the copy of secrets.yml you keep.
    `database_ca` makes a new CA for the database's TLS (kept in pki/ beside
    secrets.yml) and with it a new certificate for PostgreSQL.
    """
    from wmx.site import SitePaths, load_config
    from wmx.site.pki import DATABASE_CA, ROTATION_EFFECT, rotate_database_ca
    from wmx.site.secrets import rotate_secret, rotation_effect

    paths = SitePaths(site_root(ctx))
    effect = ROTATION_EFFECT if name == DATABASE_CA else rotation_effect(name)
    console.print(f"Rotating [bold]{escape(name)}[/]: {escape(effect)}")
    if not yes and not typer.confirm("Generate a new value now?", default=False):
        console.print("Nothing changed.")
        raise typer.Exit(1)
    if name == DATABASE_CA:
        rotate_database_ca(paths.root, load_config(paths).server_name)
        kept = "a new CA in pki/ (the certificate is issued at the next render)"
    else:
        rotate_secret(paths.secrets, name)
        kept = "new value stored in secrets.yml (not shown)"
    console.print(
        f"{escape(name)}: {kept}. Apply with `wmx deploy`, and update the copy of "
        "secrets.yml (and pki/) you keep."
    )


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
    from wmx.site import SitePaths
    from wmx.site.secrets import store_secret

    paths = SitePaths(site_root(ctx))
    value = "" if clear else read_secret("sudo password", stdin=stdin)
    store_secret(paths.secrets, "sudo_password", value)
    if clear:
        console.print("Forgotten: from now on wmx expects sudo to ask for no password.")
    else:
        console.print(
            "Stored in secrets.yml (not shown); every wmx command that reaches a host "
            "uses it from now on."
        )
