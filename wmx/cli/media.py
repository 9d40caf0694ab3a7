"""`wmx media`: uploaded files: list, quarantine, protect, delete, purge remote copies."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from wmx.cli.admin_support import Cmd, Limit, Yes, command, confirm, moment_arg, on_off_commands
from wmx.cli.common import checked, group
from wmx.errors import InputError
from wmx.present import esc, when

app = group("media")

MediaRef = Annotated[str, typer.Argument(help="mxc://server/id, or the id of local media.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="A local user id (or name).")]
RoomOpt = Annotated[str | None, typer.Option("--room", help="A room id or alias.")]


@command(app, "list")
def list_media(cmd: Cmd, user: UserOpt = None, room: RoomOpt = None, limit: Limit = None) -> None:
    """Media a user uploaded (newest first), or media a room's messages refer to."""
    from wmx.admin.present import ROOM_MEDIA_COLUMNS, media_columns, room_media_rows

    if (user is None) == (room is None):
        raise InputError("give --user ID or --room ROOM")
    if user is not None:
        shown = media_columns(cmd.site.config.server_name)
        with cmd.user_session(user) as (admin, user_id):
            pages = admin.media.pages_of_user(user_id, limit=limit)
            cmd.pages(pages, shown, empty=f"{user_id} uploaded nothing")
        return
    assert room is not None
    with cmd.room_session(room) as (admin, room_id):
        found = admin.media.in_room(room_id)
    rows = room_media_rows(found)
    cmd.rows(rows, ROOM_MEDIA_COLUMNS, empty="no media in this room", data=found)


@command(app)
def show(cmd: Cmd, media: MediaRef) -> None:
    """What Synapse records about one piece of media."""
    from wmx.admin.present import media_fields

    server, media_id = checked_media(media, cmd.site.config.server_name)
    with cmd.session() as admin:
        info = admin.media.info(server, media_id)
    cmd.record(info, media_fields(server, media_id))


def checked_media(value: str, server_name: str) -> tuple[str, str]:
    from wmx.admin.ids import check_media

    return checked(lambda v: check_media(v, server_name), value)


def checked_local_media(value: str, server_name: str) -> str:
    from wmx.admin.ids import check_local_media

    return checked(lambda v: check_local_media(v, server_name), value)


@command(app)
def quarantine(
    cmd: Cmd,
    media: Annotated[
        str | None, typer.Argument(help="mxc://server/id (or a local id).", show_default=False)
    ] = None,
    room: RoomOpt = None,
    user: UserOpt = None,
    yes: Yes = False,
) -> None:
    """Quarantine media so that nobody can download it: one item, a room's, or a user's."""
    if sum(x is not None for x in (media, room, user)) != 1:
        raise InputError("give one media id, or --room ROOM, or --user ID")
    if media is not None:
        server, media_id = checked_media(media, cmd.site.config.server_name)
        with cmd.session() as admin:
            if server == cmd.site.config.server_name:
                admin.media.info(server, media_id)
            admin.media.quarantine(server, media_id)
        cmd.done(
            f"mxc://{esc(server)}/{esc(media_id)} is quarantined.",
            {"media": f"mxc://{server}/{media_id}", "quarantined": 1},
        )
        return
    if room is not None:
        with cmd.room_session(room) as (admin, room_id):
            confirm(f"Quarantine every piece of media in {room_id}?", yes)
            count = admin.media.quarantine_room(room_id)
        cmd.done(
            f"{count} item(s) of media in {esc(room_id)} quarantined.",
            {"room_id": room_id, "quarantined": count},
        )
        return
    assert user is not None
    with cmd.user_session(user) as (admin, user_id):
        confirm(f"Quarantine everything {user_id} uploaded?", yes)
        count = admin.media.quarantine_user(user_id)
    cmd.done(
        f"{count} item(s) uploaded by {esc(user_id)} quarantined.",
        {"user_id": user_id, "quarantined": count},
    )


@command(app)
def unquarantine(cmd: Cmd, media: MediaRef) -> None:
    """Release media from quarantine."""
    server, media_id = checked_media(media, cmd.site.config.server_name)
    with cmd.session() as admin:
        admin.media.unquarantine(server, media_id)
    cmd.done(
        f"mxc://{esc(server)}/{esc(media_id)} is released.",
        {"media": f"mxc://{server}/{media_id}", "quarantined": False},
    )


def _protect(cmd: Cmd, media: str, protect: bool) -> None:
    server = cmd.site.config.server_name
    media_id = checked_local_media(media, server)
    with cmd.session() as admin:
        admin.media.info(server, media_id)
        if protect:
            admin.media.protect(media_id)
        else:
            admin.media.unprotect(media_id)
    uri = f"mxc://{server}/{media_id}"
    cmd.done(
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


@command(app)
def delete(
    cmd: Cmd,
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
) -> None:
    """Delete local media from disk: one item, or everything not used since a date."""
    server = cmd.site.config.server_name
    if (media is None) == (before is None):
        raise InputError("give one media id, or --before DATE")
    if media is not None:
        if size or include_profiles:
            raise InputError("--size and --include-profiles go with --before")
        media_id = checked_local_media(media, server)
        with cmd.session() as admin:
            admin.media.info(server, media_id)
            confirm(f"Delete mxc://{server}/{media_id}?", yes)
            result = admin.media.delete(server, media_id)
    else:
        assert before is not None
        before_ms = moment_arg(before)
        from wmx.admin.ids import parse_size

        size_gt = checked(parse_size, size) if size else 0
        with cmd.session() as admin:
            bigger = f" larger than {size}" if size else ""
            confirm(f"Delete local media{bigger} not used since {when(before_ms)}?", yes)
            result = admin.media.delete_local_before(
                before_ms, size_gt=size_gt, keep_profiles=not include_profiles
            )
    deleted = result.get("deleted_media") or []
    cmd.done(f"{len(deleted)} item(s) of media deleted.", dict(result))


@command(app, "purge-remote")
def purge_remote(
    cmd: Cmd,
    older_than: Annotated[
        int, typer.Option("--older-than", metavar="DAYS", help="Not accessed for this many days.")
    ],
    yes: Yes = False,
) -> None:
    """Drop cached copies of other servers' media (they are fetched again if needed)."""
    from wmx.admin.ids import check_days

    checked(lambda v: check_days(int(v)), str(older_than))
    before_ms = int((time.time() - older_than * 86400) * 1000)
    with cmd.session() as admin:
        confirm(f"Purge cached remote media not accessed for {older_than} day(s)?", yes)
        count = admin.media.purge_remote_cache(before_ms)
    cmd.done(f"{count} cached remote file(s) purged.", {"deleted": count})
