"""`wmx reports`: messages users flagged to the server admins (event reports)."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.admin_support import Cmd, Limit, Yes, command, confirm, room_arg
from wmx.cli.common import group

app = group("reports")

ReportId = Annotated[int, typer.Argument(help="The report number (see `wmx reports list`).", min=0)]


@command(app, "list")
def list_reports(
    cmd: Cmd,
    room: Annotated[str | None, typer.Option("--room", help="Only reports in this room.")] = None,
    reporter: Annotated[
        str | None, typer.Option("--reporter", help="Only reports by this user.")
    ] = None,
    sender: Annotated[
        str | None, typer.Option("--sender", help="Only reports about this user's messages.")
    ] = None,
    limit: Limit = None,
) -> None:
    """Open reports, newest first."""
    from wmx.admin.present import REPORT_COLUMNS
    from wmx.admin.targets import room_id_of

    room_ref = room_arg(room) if room else None
    reporter_id = cmd.user_id(reporter) if reporter else None
    sender_id = cmd.user_id(sender) if sender else None
    with cmd.session() as admin:
        room_id = room_id_of(admin, room_ref) if room_ref else None
        pages = admin.reports.pages(
            room_id=room_id, reporter=reporter_id, sender=sender_id, limit=limit
        )
        cmd.pages(pages, REPORT_COLUMNS, empty="no open reports")


@command(app)
def show(cmd: Cmd, report: ReportId) -> None:
    """One report, with the reported event."""
    from wmx.admin.present import REPORT_FIELDS

    with cmd.session() as admin:
        found = admin.reports.get(report)
    cmd.record(found, REPORT_FIELDS)


@command(app)
def resolve(cmd: Cmd, report: ReportId, yes: Yes = False) -> None:
    """Mark a report handled (Synapse deletes it; act on the message first)."""
    with cmd.session() as admin:
        admin.reports.get(report)
        confirm(f"Resolve (delete) report {report}?", yes)
        admin.reports.resolve(report)
    cmd.done(f"Report {report} resolved.", {"id": report, "resolved": True})
