"""`wmx admin`: the first steps of running a homeserver."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.admin_support import Cmd, NewPassword, PasswordFile, command, new_password
from wmx.cli.common import checked, group

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
    from wmx.admin.present import show_bootstrap
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
    generated = password.value if password is not None and password.generated else None
    show_bootstrap(
        user_id,
        existing,
        homeserver_host=config.homeserver.host,
        server_name=config.server_name,
        generated=generated,
    )
