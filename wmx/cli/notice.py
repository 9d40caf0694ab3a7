"""`wmx notice`: server notices, messages from the homeserver to its users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wmx.cli.admin_support import Cmd, Yes, command, confirm
from wmx.cli.common import console, group
from wmx.errors import InputError
from wmx.present import Column, emit_results, esc

app = group("notice")


@command(app)
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
    yes: Yes = False,
) -> None:
    """Send a notice; it arrives in each user's "Server Notices" room."""
    from wmx.admin.account import admin_user_id
    from wmx.admin.bulk import notice_recipients, send_notices
    from wmx.admin.notices import notice_body

    body = notice_body(text, file)
    if bool(to) == all_local:
        raise InputError("give --to USER (repeatable) or --all-local")
    recipients = [cmd.user_id(u) for u in to or []]
    progress = console.is_terminal and cmd.table
    with cmd.session() as admin:
        recipients = notice_recipients(admin, admin_user_id(cmd.site), recipients)
        if all_local:
            confirm(f"Send this notice to all {len(recipients)} local account(s)?", yes)

        def show(index: int, user_id: str) -> None:
            console.print(f"[dim]{index}/{len(recipients)}[/] {esc(user_id)}", end="\r")

        results = send_notices(admin, recipients, body, show if progress else None)
    emit_results(
        results, cmd.output, Column.key("user", "user_id"), ok="sent", empty="no recipients"
    )
