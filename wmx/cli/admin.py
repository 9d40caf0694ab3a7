"""`wmx admin`: the first steps of running a homeserver."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.admin_support import Cmd, PasswordFile, command, ids
from wmx.cli.common import checked, group

app = group("admin")


@command(app, yes="accepted", output=False)
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
    from wmx.admin.actions.user import bootstrap

    name = checked(ids.check_localpart, localpart)
    cmd.run(bootstrap, f"@{name}:{cmd.site.config.server_name}", password_file)
