"""What every command shares: the site option, and from the library wmx.present the
consoles, output formats, `trust` (--ca-file) and `checked`, the one place where a
rejected command-line value becomes an input error.

Import-light on purpose: `wmx --help` and shell completion import every command module,
so a module here imports the site model, the admin client, the renderer or the lab only
inside the function that needs it.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wmx.present import OutputFormat, checked, console, err_console, print_json, read_secret, trust

if TYPE_CHECKING:
    from wmx.site import Site

# Re-exported for the commands, from wmx.present (the names defined here need no list).
__all__ = [
    "OutputFormat",
    "checked",
    "console",
    "err_console",
    "print_json",
    "read_secret",
    "trust",
]


def group(name: str) -> typer.Typer:
    """The Typer app of the root's command group `name`, its help the one `wmx --help`
    lists (wmx.cli.COMMANDS), so that the two are one text."""
    from wmx.cli import COMMANDS  # the package is loaded before any command module

    return typer.Typer(help=next(t for n, _, t in COMMANDS if n == name), no_args_is_help=True)


def global_site(ctx: typer.Context) -> str | None:
    """wmx's own --site, when given."""
    root = ctx.find_root().obj
    return root.get("site") if isinstance(root, dict) else None


def site_root(ctx: typer.Context) -> Path:
    """The site directory: --site, $WMX_SITE, or the current directory and its parents."""
    from wmx.site import find_site_root
    from wmx.site.directory import site_directory

    option = global_site(ctx)
    given = option or os.environ.get("WMX_SITE")
    if not given:
        return find_site_root(Path.cwd())
    return site_directory(given, "--site" if option else "$WMX_SITE")


def open_site(ctx: typer.Context) -> Site:
    from wmx.site import load_site

    site = load_site(site_root(ctx))
    if site.secrets.sudo_password:
        # For this process's SSH and Ansible runs: a 0600 file, never an argv (wmx.ssh.become).
        from wmx.ssh.become import use_password

        use_password(site.secrets.sudo_password)
    return site


class TableOrJson(StrEnum):
    """What `--output` offers where a result has no YAML form."""

    table = "table"
    json = "json"


JsonOutput = Annotated[
    TableOrJson, typer.Option("--output", "-o", help="table for people; json for scripts.")
]
StdinOption = Annotated[
    bool,
    typer.Option(
        "--stdin", help="Read the secret (password) from standard input, one line (scripts)."
    ),
]


def store_password(
    site: Site,
    field: str,
    *,
    stdin: bool,
    component: str,
    what: str = "SMTP password",
    unused: str | None = None,
) -> None:
    """Ask for a password without echo (or read one line of stdin) and keep it in
    secrets.yml as `field`: never from the command line, never printed. `unused`: why
    nothing uses it yet (its feature is off), said instead of "apply with wmx deploy",
    which would change nothing then."""
    from wmx.site.secrets import store_secret

    # Checked (one line, no control characters) and written under secrets.yml's lock.
    store_secret(site.paths.secrets, field, read_secret(what, stdin=stdin))
    if unused:
        console.print(f"Stored in secrets.yml; nothing uses it while {unused}.")
        return
    console.print(f"Stored in secrets.yml. Apply with `wmx deploy --only {component}`.")
