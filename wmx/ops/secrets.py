"""The site's secrets changed on purpose from the command line: a generated one (or the
database's TLS CA) rotated after saying what that breaks, the sudo password stored after
asking for it without echo. Values are never shown, never on a command line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape

from wmx.present import confirm, console, read_secret
from wmx.site import SitePaths, load_config
from wmx.site.pki import DATABASE_CA, ROTATION_EFFECT, rotate_database_ca
from wmx.site.secrets import rotate_secrets, rotation_effect, store_secret


def rotate_command(root: Path, names: Sequence[str], yes: bool) -> None:
    """`wmx secrets rotate`: what rotating each of `names` breaks, one question (unless
    `yes`), then the new values (or CA) kept, the secrets in one write."""
    paths = SitePaths(root)
    names = list(dict.fromkeys(names))  # a name given twice is rotated once
    for name in names:
        effect = ROTATION_EFFECT if name == DATABASE_CA else rotation_effect(name)
        console.print(f"Rotating [bold]{escape(name)}[/]: {escape(effect)}")
    question = "Generate a new value now?" if len(names) == 1 else "Generate new values now?"
    confirm(question, yes=yes, refused="Nothing changed.")
    secrets = [name for name in names if name != DATABASE_CA]
    if secrets:
        rotate_secrets(paths.secrets, secrets)
        stored = "new value" if len(secrets) == 1 else "new values"
        console.print(f"{escape(', '.join(secrets))}: {stored} stored in secrets.yml (not shown).")
    if DATABASE_CA in names:
        rotate_database_ca(paths.root, load_config(paths).server_name)
        console.print(
            f"{DATABASE_CA}: a new CA in pki/ (the certificate is issued at the next render)."
        )
    console.print(
        "Apply with `wmx deploy`, and update the copy of secrets.yml (and pki/) you keep."
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
