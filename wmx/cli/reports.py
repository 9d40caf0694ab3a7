"""`wmx reports`: messages users flagged to the server admins (event reports)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wmx.cli.admin_support import (
    AdminUrl,
    Limit,
    Output,
    Yes,
    confirm,
    room_arg,
    session,
    user_arg,
)
from wmx.cli.common import OutputFormat, open_site
from wmx.cli.present import Column, emit_done, emit_pages, emit_record, when

app = typer.Typer(help="Event reports: messages users flagged to the admins.", no_args_is_help=True)

ReportId = Annotated[int, typer.Argument(help="The report number (see `wmx reports list`).", min=0)]


def _body(report: Any) -> str:
    content = (report.get("event_json") or {}).get("content") or {}
    text = str(content.get("body", ""))
    return text if len(text) <= 60 else text[:59] + "…"


LIST_COLUMNS = [
    Column.key("id", "id"),
    Column.key("received", "received_ts", when),
    Column.key("reporter", "user_id"),
    Column.key("sender", "sender"),
    Column("room", lambda r: r.get("canonical_alias") or r.get("name") or r.get("room_id")),
    Column.key("reason", "reason"),
]


@app.command("list")
def list_reports(
    ctx: typer.Context,
    room: Annotated[str | None, typer.Option("--room", help="Only reports in this room.")] = None,
    reporter: Annotated[
        str | None, typer.Option("--reporter", help="Only reports by this user.")
    ] = None,
    sender: Annotated[
        str | None, typer.Option("--sender", help="Only reports about this user's messages.")
    ] = None,
    limit: Limit = None,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Open reports, newest first."""
    from wmx.admin.targets import room_id_of

    site = open_site(ctx)
    room_ref = room_arg(room) if room else None
    reporter_id = user_arg(site, reporter) if reporter else None
    sender_id = user_arg(site, sender) if sender else None
    with session(site, url) as admin:
        room_id = room_id_of(admin, room_ref) if room_ref else None
        pages = admin.reports.pages(
            room_id=room_id, reporter=reporter_id, sender=sender_id, limit=limit
        )
        emit_pages(pages, output, LIST_COLUMNS, empty="no open reports")


@app.command()
def show(
    ctx: typer.Context, report: ReportId, output: Output = OutputFormat.table, url: AdminUrl = None
) -> None:
    """One report, with the reported event."""
    site = open_site(ctx)
    with session(site, url) as admin:
        found = admin.reports.get(report)
    emit_record(
        found,
        output,
        [
            Column.key("id", "id"),
            Column.key("received", "received_ts", when),
            Column.key("reporter", "user_id"),
            Column.key("reason", "reason"),
            Column.key("score", "score"),
            Column.key("room", "room_id"),
            Column.key("room name", "name"),
            Column.key("event", "event_id"),
            Column.key("sender", "sender"),
            Column("message", _body),
        ],
    )


@app.command()
def resolve(
    ctx: typer.Context,
    report: ReportId,
    yes: Yes = False,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Mark a report handled (Synapse deletes it; act on the message first)."""
    site = open_site(ctx)
    with session(site, url) as admin:
        admin.reports.get(report)
        confirm(f"Resolve (delete) report {report}?", yes)
        admin.reports.resolve(report)
    emit_done(output, f"Report {report} resolved.", {"id": report, "resolved": True})
