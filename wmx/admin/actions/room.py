"""`wmx room`: rooms, the room directory and aliases."""

from __future__ import annotations

from typing import Any

from wmx.admin.account import admin_user_id
from wmx.admin.act import Act, Done, Paged, Record, Results, Rows
from wmx.admin.bulk import delete_each, delete_room
from wmx.admin.present import (
    ALIAS_COLUMNS,
    DIRECTORY_COLUMNS,
    EMPTY_ROOM_COLUMNS,
    MEMBER_COLUMNS,
    ROOM_COLUMNS,
    ROOM_FIELDS,
    STATE_COLUMNS,
    follow_task,
    show_room_deletion,
)
from wmx.admin.rooms import NOTICE_ROOM_NAME
from wmx.admin.targets import room_id_of
from wmx.present import Column, Report, esc, fail_unless_complete, status_line, when


def listing(
    act: Act,
    sort: str,
    desc: bool,
    search: str | None,
    empty: bool,
    public: bool,
    limit: int | None,
) -> Paged:
    """The rooms in `sort` order (`desc`: backwards), those matching `search` (only empty
    or public ones when asked), at most `limit`."""
    pages = act.admin.rooms.pages(
        order_by=sort,
        backwards=desc,
        search=search,
        empty_only=empty,
        public_only=public,
        limit=limit,
    )
    return Paged(pages, ROOM_COLUMNS, empty="no rooms match")


def show(act: Act, room: str) -> Record:
    """The room, with its block status."""
    room_id = act.room(room)
    details: dict[str, Any] = dict(act.admin.rooms.get(room_id))
    details["blocked"] = bool(act.admin.rooms.block_status(room_id).get("block"))
    return Record(details, ROOM_FIELDS)


def members(act: Act, room: str) -> Rows:
    found = act.admin.rooms.members(act.room(room))
    return Rows(found, MEMBER_COLUMNS, empty="nobody is in this room")


def state(act: Act, room: str) -> Rows:
    return Rows(act.admin.rooms.state(act.room(room)), STATE_COLUMNS)


def delete(act: Act, room: str, *, purge: bool, block: bool, message: str | None) -> Report:
    """Remove every local member (v2 delete, in the background), optionally purge and
    block; wait for Synapse and report the outcome. With a `message`, wmx's own account
    makes the room the members are moved into, and posts the message there."""
    room_id = act.room(room)
    details = act.admin.rooms.get(room_id)
    name = details.get("name") or "no name"
    local = details.get("joined_local_members", 0)
    extra = ", purge its history" if purge else ""
    extra += ", block it" if block else ""
    extra += f", move its members into a new room {NOTICE_ROOM_NAME!r}" if message else ""
    act.ask(f"Delete {room_id} ({name}, {local} local member(s)){extra}?")
    with status_line(f"Deleting {room_id}") as update:
        final = delete_room(
            act.admin,
            room_id,
            purge=purge,
            block=block,
            message=message,
            new_room_user_id=admin_user_id(act.site) if message else None,
            on_update=update,
        )
    return Report(
        final,
        lambda: show_room_deletion(room_id, final, purge=purge, block=block),
        check=lambda: fail_unless_complete(f"deleting {room_id}", final),
    )


def set_blocked(act: Act, room: str, blocked: bool) -> Done:
    # A room id may be blocked before this server knows the room (pre-emptively); an
    # alias must resolve.
    room_id = room_id_of(act.admin, room)
    act.admin.rooms.set_blocked(room_id, blocked)
    return Done(
        f"{esc(room_id)} is {'blocked' if blocked else 'no longer blocked'}.",
        {"room_id": room_id, "blocked": blocked},
    )


def make_admin(act: Act, room: str, user_id: str) -> Done:
    room_id = act.room(room)
    act.user(user_id)
    act.admin.rooms.make_admin(room_id, user_id)
    return Done(
        f"{esc(user_id)} now has the highest power level in {esc(room_id)}.",
        {"room_id": room_id, "user_id": user_id, "room_admin": True},
    )


def purge_history(act: Act, room: str, before_ms: int, *, local_events: bool) -> Done:
    room_id = act.room(room)
    whose = "all" if local_events else "remote users'"
    act.ask(f"Purge {whose} events in {room_id} before {when(before_ms)}?")
    purge_id = act.admin.rooms.start_purge_history(
        room_id, before_ms, delete_local_events=local_events
    )
    final = follow_task(
        f"Purging {room_id}", lambda: act.admin.rooms.purge_history_status(purge_id)
    )
    return Done(
        f"History of {esc(room_id)} before {when(before_ms)}: [bold]{esc(final.get('status'))}[/].",
        {"room_id": room_id, "purge_id": purge_id, **final},
        check=lambda: fail_unless_complete(f"purging {room_id}", final),
    )


def purge_empty(act: Act, *, dry_run: bool, block: bool) -> Rows | Results:
    """Delete and purge every room nobody is in (only list them with `dry_run`)."""
    empty = act.admin.rooms.listing(empty_only=True).items
    if dry_run or not empty:
        return Rows(empty, EMPTY_ROOM_COLUMNS, empty="no empty rooms")
    act.ask(f"Delete and purge {len(empty)} empty room(s)?")
    with status_line("Deleting empty rooms") as update:
        results = delete_each(
            act.admin, [r["room_id"] for r in empty], block=block, on_update=update
        )
    return Results(results, Column.key("room", "room_id"), ok="complete")


def directory(act: Act, limit: int | None) -> Rows:
    rooms = act.admin.rooms.public_rooms(limit)
    return Rows(rooms, DIRECTORY_COLUMNS, empty="the directory is empty")


def set_listed(act: Act, room: str, public: bool) -> Done:
    room_id = act.room(room)
    act.admin.rooms.set_directory_visibility(room_id, public)
    return Done(
        f"{esc(room_id)} is {'listed in' if public else 'hidden from'} the room directory.",
        {"room_id": room_id, "visibility": "public" if public else "private"},
    )


def aliases(act: Act, room: str) -> Rows:
    found = act.admin.rooms.aliases(act.room(room))
    return Rows(found, ALIAS_COLUMNS, empty="no local aliases")


def delete_alias(act: Act, alias: str) -> Done:
    room_id = act.admin.rooms.resolve_alias(alias)
    act.ask(f"Delete alias {alias} (of {room_id})?")
    act.admin.rooms.delete_alias(alias)
    return Done(
        f"Alias {esc(alias)} deleted.", {"alias": alias, "room_id": room_id, "deleted": True}
    )
