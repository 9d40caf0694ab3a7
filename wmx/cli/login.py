"""`wmx login`: logging in with a Wikimedia account (login:, docs/login.md), and
`wmx room link` (registered under `wmx room`)."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.admin_support import room_arg
from wmx.cli.common import StdinOption, err_console, group, open_site, store_password
from wmx.present import esc

app = group("login")


@app.command("client-secret")
def client_secret(ctx: typer.Context, stdin: StdinOption = False) -> None:
    """Store the OAuth 2.0 consumer's secret (login.consumer_key's) in secrets.yml.

    Asked without echo (or one line of stdin with --stdin); never on the command line.
    """
    site = open_site(ctx)
    off = "the login is off: set login.provider and login.consumer_key (docs/login.md)"
    store_password(
        site,
        "login_client_secret",
        stdin=stdin,
        component="synapse",
        what="Consumer secret",
        unused=None if site.config.login.provider else off,
    )


def room_link(
    ctx: typer.Context,
    room: Annotated[str, typer.Argument(help="Room alias (#name:server) or id (!…).")],
) -> None:
    """Print a link to a room in the web client: logged out, it leads through the login
    (the Wikimedia button, with login: on) and then into the room."""
    from wmx.ops.links import room_link as link_for

    target = room_arg(room)
    typer.echo(link_for(open_site(ctx), target))
    err_console.print(f"[dim]Opens {esc(target)} after the login.[/]", highlight=False)
