"""`wmx notice`: server notices, messages from the homeserver to its users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wmx.admin.account import admin_session, admin_user_id
from wmx.admin.notices import NoticesDisabledError
from wmx.cli.admin_support import (
    AdminUrl,
    Column,
    Output,
    Yes,
    confirm,
    emit_results,
    user_arg,
)
from wmx.cli.common import OutputFormat, console, open_site
from wmx.errors import InputError, WmxError

app = typer.Typer(
    help="Server notices: messages from the homeserver itself to its users.",
    no_args_is_help=True,
)


@app.command()
def send(
    ctx: typer.Context,
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
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Send a notice; it arrives in each user's "Server Notices" room."""
    site = open_site(ctx)
    if (text is None) == (file is None):
        raise InputError("give the message as an argument or with --file")
    body = text if text is not None else file.read_text() if file else ""
    if not body.strip():
        raise InputError("the message is empty")
    if bool(to) == all_local:
        raise InputError("give --to USER (repeatable) or --all-local")
    recipients = [user_arg(site, u) for u in to or []]
    with admin_session(site, url) as admin:
        if all_local:
            own = admin_user_id(site)
            recipients = [
                u["name"]
                for u in admin.users.listing().items
                if u["name"] != own and u.get("user_type") not in ("support", "bot")
            ]
            confirm(f"Send this notice to all {len(recipients)} local account(s)?", yes)
        else:
            for user_id in recipients:
                admin.users.get(user_id)
        results: list[dict[str, str | None]] = []
        for index, user_id in enumerate(recipients, 1):
            if console.is_terminal and output is OutputFormat.table:
                console.print(f"[dim]{index}/{len(recipients)}[/] {user_id}", end="\r")
            try:
                event_id = admin.notices.send(user_id, body)
                results.append({"user_id": user_id, "result": "sent", "event_id": event_id})
            except NoticesDisabledError:
                raise
            except WmxError as exc:
                results.append({"user_id": user_id, "result": f"failed: {exc}", "event_id": None})
    emit_results(results, output, Column.key("user", "user_id"), ok="sent", empty="no recipients")
