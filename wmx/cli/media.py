"""`wmx media`: uploaded files: list, quarantine, protect, delete, purge remote copies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.admin_support import Cmd, Limit, command, ids, lazy, moment_arg, on_off_commands
from wmx.cli.admin_support import room_arg as ref
from wmx.cli.common import checked, group
from wmx.errors import InputError

if TYPE_CHECKING:
    from wmx.admin.actions import media as ops
else:
    ops = lazy("wmx.admin.actions.media")

app = group("media")

MediaRef = Annotated[str, typer.Argument(help="mxc://server/id, or the id of local media.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="A local user id (or name).")]
RoomOpt = Annotated[str | None, typer.Option("--room", help="A room id or alias.")]


@command(app, "list")
def list_media(cmd: Cmd, user: UserOpt = None, room: RoomOpt = None, limit: Limit = None) -> None:
    """Media a user uploaded (newest first), or media a room's messages refer to."""
    if (user is None) == (room is None):
        raise InputError("give --user ID or --room ROOM")
    if user is not None:
        cmd.run(ops.of_user, cmd.user_id(user), limit)
    else:
        cmd.run(ops.of_room, ref(str(room)))


@command(app)
def show(cmd: Cmd, media: MediaRef) -> None:
    """What Synapse records about one piece of media."""
    cmd.run(ops.show, cmd.local(ids.check_media, media))


@command(app, yes=True)
def quarantine(
    cmd: Cmd,
    media: Annotated[
        str | None, typer.Argument(help="mxc://server/id (or a local id).", show_default=False)
    ] = None,
    room: RoomOpt = None,
    user: UserOpt = None,
) -> None:
    """Quarantine media so that nobody can download it: one item, a room's, or a user's."""
    if sum(x is not None for x in (media, room, user)) != 1:
        raise InputError("give one media id, or --room ROOM, or --user ID")
    if media is not None:
        cmd.run(ops.quarantine, cmd.local(ids.check_media, media))
    elif room is not None:
        cmd.run(ops.quarantine_room, ref(room))
    else:
        cmd.run(ops.quarantine_user, cmd.user_id(str(user), refuse="quarantine the media of"))


@command(app, yes="accepted")
def unquarantine(cmd: Cmd, media: MediaRef) -> None:
    """Release media from quarantine."""
    cmd.run(ops.unquarantine, cmd.local(ids.check_media, media))


on_off_commands(
    app,
    ("media", MediaRef),
    lambda cmd, media, on: cmd.run(ops.set_protected, cmd.local(ids.check_local_media, media), on),
    on=("protect", "Protect local media from quarantine (room or user quarantines skip it)."),
    off=("unprotect", "Remove the protection."),
)


@command(app, yes=True)
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
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="With --before: only list what would be deleted."),
    ] = False,
) -> None:
    """Delete local media from disk: one item, or everything not used since a date."""
    if (media is None) == (before is None):
        raise InputError("give one media id, or --before DATE")
    if media is not None:
        if size or include_profiles or dry_run:
            raise InputError("--size, --include-profiles and --dry-run go with --before")
        cmd.run(ops.delete, cmd.local(ids.check_local_media, media))
        return
    before_ms = moment_arg(str(before))
    size_gt = checked(ids.parse_size, size) if size else 0
    cmd.run(ops.delete_before, before_ms, size, size_gt, include_profiles, dry_run=dry_run)


@command(app, "purge-remote", yes=True)
def purge_remote(
    cmd: Cmd,
    older_than: Annotated[
        int, typer.Option("--older-than", metavar="DAYS", help="Not accessed for this many days.")
    ],
) -> None:
    """Drop cached copies of other servers' media (they are fetched again if needed)."""
    checked(lambda v: ids.check_days(int(v)), str(older_than))
    cmd.run(ops.purge_remote, older_than)
