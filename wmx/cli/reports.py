"""`wmx reports`: messages users flagged to the server admins (event reports)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.admin_support import Cmd, Limit, command, ids, lazy, room_arg
from wmx.cli.common import group

if TYPE_CHECKING:
    from wmx.admin.actions import service as ops
else:
    ops = lazy("wmx.admin.actions.service")

app = group("reports")


def _any_user_id(value: str, server_name: str) -> str:
    return ids.check_user_id(value, server_name, local=False)


# Bounded as Synapse stores it (wmx.admin.ids.MAX_REPORT_ID), refused before wmx signs in.
ReportId = Annotated[
    int,
    typer.Argument(help="The report number (see `wmx reports list`).", min=0, max=2**63 - 1),
]


@command(app, "list")
def list_reports(
    cmd: Cmd,
    room: Annotated[str | None, typer.Option("--room", help="Only reports in this room.")] = None,
    reporter: Annotated[
        str | None,
        typer.Option("--reporter", help="Only reports by this user (of this homeserver)."),
    ] = None,
    sender: Annotated[
        str | None,
        typer.Option("--sender", help="Only reports about this user's messages (of any server)."),
    ] = None,
    limit: Limit = None,
) -> None:
    """Open reports, newest first."""
    room_ref = room_arg(room) if room else None
    # Reports come from this server's users, about messages from anywhere: spam is
    # mostly sent from other servers, and Synapse filters by any user id.
    reporter_id = cmd.user_id(reporter) if reporter else None
    sender_id = cmd.local(_any_user_id, sender) if sender else None
    cmd.run(ops.reports, room_ref, reporter_id, sender_id, limit)


@command(app)
def show(cmd: Cmd, report: ReportId) -> None:
    """One report, with the reported event."""
    cmd.run(ops.report, report)


@command(app, yes=True)
def resolve(cmd: Cmd, report: ReportId) -> None:
    """Mark a report handled (Synapse deletes it; act on the message first)."""
    cmd.run(ops.resolve_report, report)
