"""The site's secrets changed on purpose from the command line: a generated one (or the
database's TLS CA) rotated after saying what that breaks, the sudo password stored after
asking for it without echo. Values are never shown, never on a command line."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from wmx.present import confirm, console, read_secret
from wmx.site import SitePaths, load_config
from wmx.site.pki import DATABASE_CA, ROTATION_EFFECT, rotate_database_ca
from wmx.site.secrets import rotate_secret, rotation_effect, store_secret


def rotate_command(root: Path, name: str, yes: bool) -> None:
    """`wmx secrets rotate`: what rotating `name` breaks, the question (unless `yes`),
    then the new value (or CA) kept."""
    paths = SitePaths(root)
    effect = ROTATION_EFFECT if name == DATABASE_CA else rotation_effect(name)
    console.print(f"Rotating [bold]{escape(name)}[/]: {escape(effect)}")
    confirm("Generate a new value now?", yes=yes, refused="Nothing changed.")
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


def sudo_password_command(root: Path, stdin: bool, clear: bool) -> None:
    """`wmx secrets sudo-password`: stored (asked for, or one line of stdin), or cleared."""
    value = "" if clear else read_secret("sudo password", stdin=stdin)
    store_secret(SitePaths(root).secrets, "sudo_password", value)
    if clear:
        console.print("Forgotten: from now on wmx expects sudo to ask for no password.")
    else:
        console.print(
            "Stored in secrets.yml (not shown); every wmx command that reaches a host "
            "uses it from now on."
        )
