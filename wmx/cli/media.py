"""`wmx media`: uploaded files: list, quarantine, protect, delete, purge remote copies."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from wmx.cli.admin_support import (
    AdminUrl,
    Limit,
    Output,
    Yes,
    confirm,
    moment_arg,
    on_off_commands,
    room_session,
    session,
    user_session,
)
from wmx.cli.common import OutputFormat, checked, open_site
from wmx.cli.present import Column, emit_done, emit_pages, emit_record, emit_rows, esc, when
from wmx.errors import InputError

app = typer.Typer(
    help="Media: list, quarantine, protect, delete, purge cached remote media.",
    no_args_is_help=True,
)

MediaRef = Annotated[str, typer.Argument(help="mxc://server/id, or the id of local media.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="A local user id (or name).")]
RoomOpt = Annotated[str | None, typer.Option("--room", help="A room id or alias.")]


def _size(value: object) -> str:
    if not isinstance(value, int):
        return ""
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value} {unit}"
        value //= 1024
    return f"{value} GiB"


@app.command("list")
def list_media(
    ctx: typer.Context,
    user: UserOpt = None,
    room: RoomOpt = None,
    limit: Limit = None,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Media a user uploaded (newest first), or media a room's messages refer to."""
    site = open_site(ctx)
    if (user is None) == (room is None):
        raise InputError("give --user ID or --room ROOM")
    if user is not None:
        with user_session(site, user, url) as (admin, user_id):
            emit_pages(
                admin.media.pages_of_user(user_id, limit=limit),
                output,
                [
                    Column("media", lambda m: f"mxc://{site.config.server_name}/{m['media_id']}"),
                    Column.key("type", "media_type"),
                    Column.key("size", "media_length", _size),
                    Column.key("name", "upload_name"),
                    Column.key("uploaded", "created_ts", when),
                    Column.key("quarantined by", "quarantined_by"),
                    Column.key("protected", "safe_from_quarantine"),
                ],
                empty=f"{user_id} uploaded nothing",
            )
        return
    assert room is not None
    with room_session(site, room, url) as (admin, room_id):
        found = admin.media.in_room(room_id)
    rows = [{"media": m, "origin": "local"} for m in found.get("local", [])]
    rows += [{"media": m, "origin": "remote"} for m in found.get("remote", [])]
    emit_rows(
        rows,
        output,
        [Column.key("media", "media"), Column.key("origin", "origin")],
        empty="no media in this room",
        data=found,
    )


@app.command()
def show(
    ctx: typer.Context, media: MediaRef, output: Output = OutputFormat.table, url: AdminUrl = None
) -> None:
    """What Synapse records about one piece of media."""
    site = open_site(ctx)
    server, media_id = checked_media(media, site.config.server_name)
    with session(site, url) as admin:
        info = admin.media.info(server, media_id)
    emit_record(
        info,
        output,
        [
            Column("media", lambda _: f"mxc://{server}/{media_id}"),
            Column.key("type", "media_type"),
            Column.key("size", "media_length", _size),
            Column.key("name", "upload_name"),
            Column.key("uploaded by", "user_id"),
            Column.key("uploaded", "created_ts", when),
            Column.key("last access", "last_access_ts", when),
            Column.key("quarantined by", "quarantined_by"),
            Column.key("protected", "safe_from_quarantine"),
        ],
    )


def checked_media(value: str, server_name: str) -> tuple[str, str]:
    from wmx.admin.ids import check_media

    return checked(lambda v: check_media(v, server_name), value)


def checked_local_media(value: str, server_name: str) -> str:
    from wmx.admin.ids import check_local_media

    return checked(lambda v: check_local_media(v, server_name), value)


@app.command()
def quarantine(
    ctx: typer.Context,
    media: Annotated[
        str | None, typer.Argument(help="mxc://server/id (or a local id).", show_default=False)
    ] = None,
    room: RoomOpt = None,
    user: UserOpt = None,
    yes: Yes = False,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Quarantine media so that nobody can download it: one item, a room's, or a user's."""
    site = open_site(ctx)
    if sum(x is not None for x in (media, room, user)) != 1:
        raise InputError("give one media id, or --room ROOM, or --user ID")
    if media is not None:
        server, media_id = checked_media(media, site.config.server_name)
        with session(site, url) as admin:
            if server == site.config.server_name:
                admin.media.info(server, media_id)
            admin.media.quarantine(server, media_id)
        emit_done(
            output,
            f"mxc://{esc(server)}/{esc(media_id)} is quarantined.",
            {"media": f"mxc://{server}/{media_id}", "quarantined": 1},
        )
        return
    if room is not None:
        with room_session(site, room, url) as (admin, room_id):
            confirm(f"Quarantine every piece of media in {room_id}?", yes)
            count = admin.media.quarantine_room(room_id)
        emit_done(
            output,
            f"{count} item(s) of media in {esc(room_id)} quarantined.",
            {"room_id": room_id, "quarantined": count},
        )
        return
    assert user is not None
    with user_session(site, user, url) as (admin, user_id):
        confirm(f"Quarantine everything {user_id} uploaded?", yes)
        count = admin.media.quarantine_user(user_id)
    emit_done(
        output,
        f"{count} item(s) uploaded by {esc(user_id)} quarantined.",
        {"user_id": user_id, "quarantined": count},
    )


@app.command()
def unquarantine(
    ctx: typer.Context, media: MediaRef, output: Output = OutputFormat.table, url: AdminUrl = None
) -> None:
    """Release media from quarantine."""
    site = open_site(ctx)
    server, media_id = checked_media(media, site.config.server_name)
    with session(site, url) as admin:
        admin.media.unquarantine(server, media_id)
    emit_done(
        output,
        f"mxc://{esc(server)}/{esc(media_id)} is released.",
        {"media": f"mxc://{server}/{media_id}", "quarantined": False},
    )


def _protect(
    ctx: typer.Context, media: str, protect: bool, output: OutputFormat, url: str | None
) -> None:
    site = open_site(ctx)
    media_id = checked_local_media(media, site.config.server_name)
    with session(site, url) as admin:
        admin.media.info(site.config.server_name, media_id)
        if protect:
            admin.media.protect(media_id)
        else:
            admin.media.unprotect(media_id)
    uri = f"mxc://{site.config.server_name}/{media_id}"
    emit_done(
        output,
        f"{esc(uri)} is {'protected from' if protect else 'no longer protected from'} quarantine.",
        {"media": uri, "protected": protect},
    )


on_off_commands(
    app,
    ("media", MediaRef),
    _protect,
    on=("protect", "Protect local media from quarantine (room or user quarantines skip it)."),
    off=("unprotect", "Remove the protection."),
)


@app.command()
def delete(
    ctx: typer.Context,
    media: Annotated[
        str | None, typer.Argument(help="One local media id.", show_default=False)
    ] = None,
    before: Annotated[
        str | None,
        typer.Option(
            "--before",
            help="Delete local media last used before this "
            "(YYYY-MM-DD, a date-time, or an age such as 90d).",
        ),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option("--size", help="With --before: only files larger than this (e.g. 10M)."),
    ] = None,
    include_profiles: Annotated[
        bool, typer.Option("--include-profiles", help="With --before: avatars too.")
    ] = False,
    yes: Yes = False,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Delete local media from disk: one item, or everything not used since a date."""
    site = open_site(ctx)
    if (media is None) == (before is None):
        raise InputError("give one media id, or --before DATE")
    if media is not None:
        if size or include_profiles:
            raise InputError("--size and --include-profiles go with --before")
        media_id = checked_local_media(media, site.config.server_name)
        with session(site, url) as admin:
            admin.media.info(site.config.server_name, media_id)
            confirm(f"Delete mxc://{site.config.server_name}/{media_id}?", yes)
            result = admin.media.delete(site.config.server_name, media_id)
    else:
        assert before is not None
        before_ms = moment_arg(before)
        from wmx.admin.ids import parse_size

        size_gt = checked(parse_size, size) if size else 0
        with session(site, url) as admin:
            bigger = f" larger than {size}" if size else ""
            confirm(f"Delete local media{bigger} not used since {when(before_ms)}?", yes)
            result = admin.media.delete_local_before(
                before_ms, size_gt=size_gt, keep_profiles=not include_profiles
            )
    deleted = result.get("deleted_media") or []
    emit_done(output, f"{len(deleted)} item(s) of media deleted.", dict(result))


@app.command("purge-remote")
def purge_remote(
    ctx: typer.Context,
    older_than: Annotated[
        int, typer.Option("--older-than", metavar="DAYS", help="Not accessed for this many days.")
    ],
    yes: Yes = False,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Drop cached copies of other servers' media (they are fetched again if needed)."""
    from wmx.admin.ids import check_days

    site = open_site(ctx)
    checked(lambda v: check_days(int(v)), str(older_than))
    before_ms = int((time.time() - older_than * 86400) * 1000)
    with session(site, url) as admin:
        confirm(f"Purge cached remote media not accessed for {older_than} day(s)?", yes)
        count = admin.media.purge_remote_cache(before_ms)
    emit_done(output, f"{count} cached remote file(s) purged.", {"deleted": count})
