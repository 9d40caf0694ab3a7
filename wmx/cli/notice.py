"""`wmx notice`: server notices, messages from the homeserver to its users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wmx.cli.admin_support import Cmd, command
from wmx.cli.common import console, group
from wmx.errors import InputError

app = group("notice")


@command(app, yes=True)
def send(
    cmd: Cmd,
    text: Annotated[
        str | None, typer.Argument(help="The message (or use --file).", show_default=False)
    ] = None,
    to: Annotated[list[str] | None, typer.Option("--to", help="A local user (repeatable).")] = None,
    all_local: Annotated[
        bool, typer.Option("--all-local", help="Every active local account.")
    ] = False,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Read the message from this file.", exists=True, dir_okay=False
        ),
    ] = None,
) -> None:
    """Send a notice; it arrives in each user's "Server Notices" room."""
    from wmx.admin.actions.service import send_notice
    from wmx.admin.notices import notice_body

    body = notice_body(text, file, cmd.site.paths)
    if bool(to) == all_local:
        raise InputError("give --to USER (repeatable) or --all-local")
    named = [cmd.user_id(u) for u in to or []]
    cmd.run(send_notice, body, named, progress=console.is_terminal and cmd.table)
