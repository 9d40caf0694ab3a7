"""`wmx admin`: the first steps of running a homeserver."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from wmx.admin.registration import register_user
from wmx.admin.tunnel import synapse_tunnel
from wmx.cli.common import checked, console, open_site
from wmx.site.model import check_localpart

app = typer.Typer(help="Bootstrap administration of the homeserver.", no_args_is_help=True)


@app.command()
def bootstrap(
    ctx: typer.Context,
    localpart: Annotated[str, typer.Argument(help="Name of the first admin (@NAME:server).")] = "admin",
) -> None:
    """Create the first human admin account and print how to log in.

    The password is generated, shown once here, and stored nowhere: keep it in your
    password manager. Works through an SSH tunnel: the Admin API is never public.
    """
    site = open_site(ctx)
    name = checked(check_localpart, localpart)
    password = secrets.token_urlsafe(18)
    with synapse_tunnel(site.topology.the("homeserver")) as base_url:
        user = register_user(base_url, site.secrets.registration_shared_secret, name, password, admin=True)
    config = site.config
    console.print(f"Created admin [bold]{user.user_id}[/].")
    console.print(f"  Homeserver: https://{config.homeserver.host}/  (clients find it from {config.server_name})")
    console.print(f"  User:       {user.user_id}")
    console.print(f"  Password:   {password}   (shown once; store it now)")
