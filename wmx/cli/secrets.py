"""`wmx secrets`: replace a generated secret on purpose (never silently, never shown)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from wmx.cli.common import console, group, site_root

app = group("secrets")


@app.command()
def rotate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The secret, e.g. macaroon_secret_key.")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask (scripts); still says what breaks.")
    ] = False,
) -> None:
    """Generate a new value for one secret, after saying what that breaks.

    Also the way back when secrets.yml lost a secret and no copy of it is left.
    Apply with `wmx deploy`; then update the copy of secrets.yml you keep.
    """
    from wmx.site import SitePaths
    from wmx.site.secrets import rotate_secret, rotation_effect

    paths = SitePaths(site_root(ctx))
    effect = rotation_effect(name)
    console.print(f"Rotating [bold]{escape(name)}[/]: {escape(effect)}")
    if not yes and not typer.confirm("Generate a new value now?", default=False):
        console.print("Nothing changed.")
        raise typer.Exit(1)
    rotate_secret(paths.secrets, name)
    console.print(
        f"{escape(name)}: new value stored in secrets.yml (not shown). Apply with "
        "`wmx deploy`, and update the copy of secrets.yml you keep."
    )
