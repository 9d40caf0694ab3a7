"""`wmx admin`: the first steps of running a homeserver."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.admin_support import Cmd, NewPassword, PasswordFile, command, new_password
from wmx.cli.common import checked, console, group
from wmx.present import esc

app = group("admin")


@command(app, output=False)
def bootstrap(
    cmd: Cmd,
    localpart: Annotated[
        str, typer.Argument(help="Name of the first admin (@NAME:server).")
    ] = "admin",
    password_file: PasswordFile = None,
) -> None:
    """Create the first human admin account and print how to log in.

    The password is generated, shown once here, and stored nowhere (keep it in your
    password manager), unless --password-file gives it. If the account exists, wmx only
    says how to log in. Works through an SSH tunnel: the Admin API is never public.
    """
    from wmx.site.model import check_localpart

    name = checked(check_localpart, localpart)
    user_id = f"@{name}:{cmd.site.config.server_name}"
    password: NewPassword | None = None
    with cmd.session() as admin:
        existing = admin.users.get(user_id) if admin.users.exists(user_id) else None
        if existing is None:
            password = new_password(password_file, password_file is None, who=user_id)
            admin.users.create(user_id, password.value, admin=True)
    config = cmd.site.config
    if existing is None:
        console.print(f"Created admin [bold]{esc(user_id)}[/].")
    else:
        role = "a server admin" if existing.get("admin") else "NOT a server admin"
        console.print(f"[bold]{esc(user_id)}[/] exists already ({role}); nothing was changed.")
    console.print(f"  Homeserver: https://{config.homeserver.host}/")
    console.print(f"  (clients also find it from the server name {config.server_name})")
    console.print(f"  User:       {esc(user_id)}")
    if password is not None and password.generated:
        console.print(f"  Password:   {esc(password.value)}   (shown once; store it now)")
    elif existing is not None:
        console.print(f"  Password forgotten? `wmx user reset-password {name} --generate-password`")
        if not existing.get("admin"):
            console.print(f"  Make it an admin: `wmx user admin {name} on`")
