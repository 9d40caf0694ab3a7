"""`wmx room`: rooms on the homeserver, the room directory and aliases."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from wmx.cli.admin_support import (
    Cmd,
    Limit,
    Yes,
    command,
    confirm,
    moment_arg,
    on_off_commands,
    room_arg,
)
from wmx.cli.common import checked, group
from wmx.present import (
    Column,
    emit_results,
    esc,
    fail_unless_complete,
    status_line,
    when,
)

app = group("room")
directory_app = typer.Typer(help="The public room directory.", no_args_is_help=True)
alias_app = typer.Typer(help="Room aliases (#name:server).", no_args_is_help=True)
app.add_typer(directory_app, name="directory")
app.add_typer(alias_app, name="alias")

Room = Annotated[str, typer.Argument(help="Room id (!…) or alias (#name:server).")]


# `--sort` choices: Synapse's room orderings (joined_members is size).
RoomSort = StrEnum(
    "RoomSort",
    "name joined_members joined_local_members canonical_alias creator version state_events "
    "public encryption federatable join_rules guest_access history_visibility",
)


@command(app, "list")
def list_rooms(
    cmd: Cmd,
    sort: Annotated[
        RoomSort, typer.Option("--sort", help="Order by this (size: joined_members).")
    ] = RoomSort.name,
    descending: Annotated[bool, typer.Option("--desc", help="Largest or last first.")] = False,
    search: Annotated[
        str | None,
        typer.Option("--search", help="Only rooms whose name, alias or id contains this."),
    ] = None,
    empty: Annotated[bool, typer.Option("--empty", help="Only rooms nobody is in.")] = False,
    public: Annotated[bool, typer.Option("--public", help="Only rooms in the directory.")] = False,
    limit: Limit = None,
) -> None:
    """List the rooms this homeserver knows."""
    from wmx.admin.present import ROOM_COLUMNS

    with cmd.session() as admin:
        pages = admin.rooms.pages(
            search=search,
            order_by=str(sort.value),
            backwards=descending,
            empty_only=empty,
            public_only=public,
            limit=limit,
        )
        cmd.pages(pages, ROOM_COLUMNS, empty="no rooms match")


@command(app)
def show(cmd: Cmd, room: Room) -> None:
    """Details of one room, with its block status."""
    from wmx.admin.present import ROOM_FIELDS

    with cmd.room_session(room) as (admin, room_id):
        details: dict[str, Any] = dict(admin.rooms.get(room_id))
        details["blocked"] = bool(admin.rooms.block_status(room_id).get("block"))
    cmd.record(details, ROOM_FIELDS)


@command(app)
def members(cmd: Cmd, room: Room) -> None:
    """Who is in a room."""
    from wmx.admin.present import MEMBER_COLUMNS

    with cmd.room_session(room) as (admin, room_id):
        found = admin.rooms.members(room_id)
    cmd.rows(found, MEMBER_COLUMNS, empty="nobody is in this room")


@command(app)
def state(cmd: Cmd, room: Room) -> None:
    """A room's current state events (name, power levels, members, …)."""
    from wmx.admin.present import STATE_COLUMNS

    with cmd.room_session(room) as (admin, room_id):
        events = admin.rooms.state(room_id)
    cmd.rows(events, STATE_COLUMNS)


@command(app)
def delete(
    cmd: Cmd,
    room: Room,
    purge: Annotated[
        bool, typer.Option("--purge", help="Also remove its history from the database.")
    ] = False,
    block: Annotated[
        bool, typer.Option("--block", help="Block it: nobody here can join it again.")
    ] = False,
    message: Annotated[
        str | None, typer.Option("--message", help="Shown to the members removed.")
    ] = None,
    yes: Yes = False,
) -> None:
    """Delete a room: remove every local member, then optionally purge and block it.

    Synapse works in the background (v2 delete); wmx waits and reports the outcome.
    """
    from wmx.admin.bulk import delete_room
    from wmx.admin.present import show_room_deletion

    with cmd.room_session(room) as (admin, room_id):
        details = admin.rooms.get(room_id)
        name = details.get("name") or "no name"
        local = details.get("joined_local_members", 0)
        extra = ", purge its history" if purge else ""
        extra += ", block it" if block else ""
        confirm(f"Delete {room_id} ({name}, {local} local member(s)){extra}?", yes)
        with status_line(f"Deleting {room_id}") as update:
            final = delete_room(
                admin, room_id, purge=purge, block=block, message=message, on_update=update
            )
    cmd.show(final, lambda: show_room_deletion(room_id, final, purge=purge, block=block))
    fail_unless_complete(f"deleting {room_id}", final)


def _set_block(cmd: Cmd, room: str, blocked: bool) -> None:
    from wmx.admin.targets import room_id_of

    ref = room_arg(room)
    with cmd.session() as admin:
        # A room id may be blocked before this server knows the room (pre-emptively);
        # an alias must resolve.
        room_id = room_id_of(admin, ref)
        admin.rooms.set_blocked(room_id, blocked)
    cmd.done(
        f"{esc(room_id)} is {'blocked' if blocked else 'no longer blocked'}.",
        {"room_id": room_id, "blocked": blocked},
    )


on_off_commands(
    app,
    ("room", Room),
    _set_block,
    on=(
        "block",
        "Block a room: local users can no longer join it (works for rooms not known yet).",
    ),
    off=("unblock", "Lift a block."),
)


@command(app, "make-admin")
def make_admin(
    cmd: Cmd,
    room: Room,
    user: Annotated[str, typer.Argument(help="Local user to give the highest power level.")],
) -> None:
    """Make a local user admin of a room (for rooms whose admins left or went rogue)."""
    user_id = cmd.user_id(user)
    with cmd.room_session(room) as (admin, room_id):
        admin.users.get(user_id)
        admin.rooms.make_admin(room_id, user_id)
    cmd.done(
        f"{esc(user_id)} now has the highest power level in {esc(room_id)}.",
        {"room_id": room_id, "user_id": user_id, "room_admin": True},
    )


@command(app, "purge-history")
def purge_history(
    cmd: Cmd,
    room: Room,
    before: Annotated[
        str,
        typer.Option(
            "--before",
            help="Purge events older than this: YYYY-MM-DD, a date-time, or an age (30d).",
        ),
    ],
    local_events: Annotated[
        bool,
        typer.Option("--include-local", help="Also purge events sent by this server's users."),
    ] = False,
    yes: Yes = False,
) -> None:
    """Purge a room's history before a date (the latest message always stays)."""
    from wmx.admin.present import follow_task

    before_ms = moment_arg(before)
    with cmd.room_session(room) as (admin, room_id):
        whose = "all" if local_events else "remote users'"
        confirm(f"Purge {whose} events in {room_id} before {when(before_ms)}?", yes)
        purge_id = admin.rooms.start_purge_history(
            room_id, before_ms, delete_local_events=local_events
        )
        final = follow_task(
            f"Purging {room_id}", lambda: admin.rooms.purge_history_status(purge_id)
        )
    cmd.done(
        f"History of {esc(room_id)} before {when(before_ms)}: [bold]{esc(final.get('status'))}[/].",
        {"room_id": room_id, "purge_id": purge_id, **final},
    )
    fail_unless_complete(f"purging {room_id}", final)


@command(app, "purge-empty")
def purge_empty(
    cmd: Cmd,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list the empty rooms.")] = False,
    block: Annotated[bool, typer.Option("--block", help="Also block them.")] = False,
    yes: Yes = False,
) -> None:
    """Delete and purge every room nobody is in any more."""
    from wmx.admin.bulk import delete_each
    from wmx.admin.present import EMPTY_ROOM_COLUMNS

    with cmd.session() as admin:
        empty = admin.rooms.listing(empty_only=True).items
        if dry_run or not empty:
            cmd.rows(empty, EMPTY_ROOM_COLUMNS, empty="no empty rooms")
            return
        confirm(f"Delete and purge {len(empty)} empty room(s)?", yes)
        with status_line("Deleting empty rooms") as update:
            results = delete_each(
                admin, [r["room_id"] for r in empty], block=block, on_update=update
            )
    emit_results(results, cmd.output, Column.key("room", "room_id"), ok="complete")


@command(directory_app, "list")
def directory_list(cmd: Cmd, limit: Limit = None) -> None:
    """The rooms published in the directory, as users see them."""
    from wmx.admin.present import DIRECTORY_COLUMNS

    with cmd.session() as admin:
        rooms = admin.rooms.public_rooms(limit)
    cmd.rows(rooms, DIRECTORY_COLUMNS, empty="the directory is empty")


def _set_listed(cmd: Cmd, room: str, public: bool) -> None:
    with cmd.room_session(room) as (admin, room_id):
        admin.rooms.set_directory_visibility(room_id, public)
    cmd.done(
        f"{esc(room_id)} is {'listed in' if public else 'hidden from'} the room directory.",
        {"room_id": room_id, "visibility": "public" if public else "private"},
    )


on_off_commands(
    directory_app,
    ("room", Room),
    _set_listed,
    on=("show", "Publish a room in the directory."),
    off=("hide", "Remove a room from the public directory (the room itself stays)."),
    off_first=True,
)


@command(alias_app, "list")
def alias_list(cmd: Cmd, room: Room) -> None:
    """The local aliases of a room."""
    from wmx.admin.present import ALIAS_COLUMNS

    with cmd.room_session(room) as (admin, room_id):
        aliases = admin.rooms.aliases(room_id)
    cmd.rows(aliases, ALIAS_COLUMNS, empty="no local aliases")


@command(alias_app, "delete")
def alias_delete(
    cmd: Cmd,
    alias: Annotated[str, typer.Argument(help="The alias (#name:server) to remove.")],
    yes: Yes = False,
) -> None:
    """Delete a room alias (the room stays; only the name stops pointing to it)."""
    from wmx.admin.ids import check_room_alias

    name = checked(check_room_alias, alias)
    with cmd.session() as admin:
        room_id = admin.rooms.resolve_alias(name)
        confirm(f"Delete alias {name} (of {room_id})?", yes)
        admin.rooms.delete_alias(name)
    cmd.done(f"Alias {esc(name)} deleted.", {"alias": name, "room_id": room_id, "deleted": True})
