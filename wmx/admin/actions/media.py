"""`wmx media`: list, show, quarantine, protect, delete, purge cached remote media."""

from __future__ import annotations

import time

from wmx.admin.act import Act, Done, Paged, Record, Rows
from wmx.admin.bulk import unused_media
from wmx.admin.present import (
    ROOM_MEDIA_COLUMNS,
    UNUSED_MEDIA_COLUMNS,
    media_columns,
    media_fields,
    room_media_rows,
    size,
)
from wmx.admin.types import DeletedMedia
from wmx.present import esc, when


def of_user(act: Act, user_id: str, limit: int | None) -> Paged:
    act.user(user_id)
    pages = act.admin.media.pages_of_user(user_id, limit=limit)
    return Paged(pages, media_columns(act.server_name), empty=f"{user_id} uploaded nothing")


def of_room(act: Act, room: str) -> Rows:
    found = act.admin.media.in_room(act.room(room))
    rows = room_media_rows(found)
    return Rows(rows, ROOM_MEDIA_COLUMNS, empty="no media in this room", data=found)


def show(act: Act, media: tuple[str, str]) -> Record:
    server, media_id = media
    return Record(act.admin.media.info(server, media_id), media_fields(server, media_id))


def quarantine(act: Act, media: tuple[str, str]) -> Done:
    server, media_id = media
    if server == act.server_name:
        act.admin.media.info(server, media_id)
    act.admin.media.quarantine(server, media_id)
    return Done(
        f"mxc://{esc(server)}/{esc(media_id)} is quarantined.",
        {"media": f"mxc://{server}/{media_id}", "quarantined": True},
    )


def quarantine_room(act: Act, room: str) -> Done:
    room_id = act.room(room)
    act.ask(f"Quarantine every piece of media in {room_id}?")
    count = act.admin.media.quarantine_room(room_id)
    return Done(
        f"{count} item(s) of media in {esc(room_id)} quarantined.",
        {"room_id": room_id, "quarantined": count},
    )


def quarantine_user(act: Act, user_id: str) -> Done:
    act.user(user_id)
    act.ask(f"Quarantine everything {user_id} uploaded?")
    count = act.admin.media.quarantine_user(user_id)
    return Done(
        f"{count} item(s) uploaded by {esc(user_id)} quarantined.",
        {"user_id": user_id, "quarantined": count},
    )


def unquarantine(act: Act, media: tuple[str, str]) -> Done:
    server, media_id = media
    act.admin.media.unquarantine(server, media_id)
    return Done(
        f"mxc://{esc(server)}/{esc(media_id)} is released.",
        {"media": f"mxc://{server}/{media_id}", "quarantined": False},
    )


def set_protected(act: Act, media_id: str, protect: bool) -> Done:
    act.admin.media.info(act.server_name, media_id)
    if protect:
        act.admin.media.protect(media_id)
    else:
        act.admin.media.unprotect(media_id)
    uri = f"mxc://{act.server_name}/{media_id}"
    return Done(
        f"{esc(uri)} is {'protected from' if protect else 'no longer protected from'} quarantine.",
        {"media": uri, "protected": protect},
    )


def _deleted(result: DeletedMedia) -> Done:
    deleted = result.get("deleted_media") or []
    return Done(f"{len(deleted)} item(s) of media deleted.", dict(result))


def delete(act: Act, media_id: str) -> Done:
    act.admin.media.info(act.server_name, media_id)
    act.ask(f"Delete mxc://{act.server_name}/{media_id}?")
    return _deleted(act.admin.media.delete(act.server_name, media_id))


def delete_before(
    act: Act,
    before_ms: int,
    larger: str | None,
    size_gt: int,
    profiles: bool,
    *,
    dry_run: bool = False,
) -> Done | Rows:
    """Delete local media last used before `before_ms`, larger than `size_gt` bytes
    (`larger` as the operator wrote it), avatars only with `profiles`; with `dry_run`,
    only list what would go and how much."""
    bigger = f" larger than {larger}" if larger else ""
    since = when(before_ms)
    if dry_run:
        found = unused_media(
            act.admin, act.server_name, before_ms, size_gt=size_gt, keep_profiles=not profiles
        )
        total = sum(int(m.get("media_length") or 0) for m in found)
        return Rows(
            found,
            UNUSED_MEDIA_COLUMNS,
            empty=f"no local media{bigger} unused since {since}: nothing would be deleted",
            note=f"{len(found)} item(s) of local media ({size(total)}) would be deleted."
            if found
            else "",
        )
    act.ask(
        f"Delete local media{bigger} not used since {since}? It cannot be undone "
        "(--dry-run lists what would go)"
    )
    result = act.admin.media.delete_local_before(
        before_ms, size_gt=size_gt, keep_profiles=not profiles
    )
    return _deleted(result)


def purge_remote(act: Act, older_than: int) -> Done:
    """Drop cached copies of other servers' media not accessed for `older_than` days."""
    before_ms = int((time.time() - older_than * 86400) * 1000)
    act.ask(f"Purge cached remote media not accessed for {older_than} day(s)?")
    count = act.admin.media.purge_remote_cache(before_ms)
    return Done(f"{count} cached remote file(s) purged.", {"deleted": count})
