"""`wmx room`: rooms on the homeserver, the room directory and aliases."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.admin_support import Cmd, Limit, command, ids, lazy, moment_arg, on_off_commands
from wmx.cli.admin_support import room_arg as ref
from wmx.cli.common import checked, group

if TYPE_CHECKING:
    from wmx.admin.actions import room as ops
else:
    ops = lazy("wmx.admin.actions.room")

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
        RoomSort,
        typer.Option(
            "--sort",
            metavar="FIELD",
            help="Order by this field: name, joined_members (the size), joined_local_members, "
            "canonical_alias, creator, version, state_events, public, encryption, "
            "federatable, join_rules, guest_access or history_visibility.",
        ),
    ] = RoomSort.name,
    descending: Annotated[bool, typer.Option("--desc", help="Largest or last first.")] = False,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            help="Only rooms whose name, alias or id contains this (Synapse reads _ and % in "
            "it as wildcards).",
        ),
    ] = None,
    empty: Annotated[bool, typer.Option("--empty", help="Only rooms nobody is in.")] = False,
    public: Annotated[bool, typer.Option("--public", help="Only rooms in the directory.")] = False,
    limit: Limit = None,
) -> None:
    """List the rooms this homeserver knows."""
    cmd.run(ops.listing, str(sort.value), descending, search, empty, public, limit)


@command(app)
def show(cmd: Cmd, room: Room) -> None:
    """Details of one room, with its block status."""
    cmd.run(ops.show, ref(room))


@command(app)
def members(cmd: Cmd, room: Room) -> None:
    """Who is in a room."""
    cmd.run(ops.members, ref(room))


@command(app)
def state(cmd: Cmd, room: Room) -> None:
    """A room's current state events (name, power levels, members, …)."""
    cmd.run(ops.state, ref(room))


@command(app, yes=True)
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
        str | None,
        typer.Option(
            "--message",
            help="Move the members into a new room, 'Content Violation Notification', made "
            "by wmx-admin, with this as its first message (the room's local aliases move "
            "there too). Without it they are only removed.",
        ),
    ] = None,
) -> None:
    """Delete a room: remove every local member, then optionally purge and block it.

    Synapse works in the background (v2 delete); wmx waits and reports the outcome.
    """
    cmd.run(ops.delete, ref(room), purge=purge, block=block, message=message)


on_off_commands(
    app,
    ("room", Room),
    lambda cmd, room, on: cmd.run(ops.set_blocked, ref(room), on),
    on=(
        "block",
        "Block a room: local users can no longer join it (works for rooms not known yet).",
    ),
    off=("unblock", "Lift a block."),
)


@command(app, "make-admin", yes="accepted")
def make_admin(
    cmd: Cmd,
    room: Room,
    user: Annotated[str, typer.Argument(help="Local user to give the highest power level.")],
) -> None:
    """Make a local user admin of a room (for rooms whose admins left or went rogue)."""
    user_id = cmd.user_id(user)
    cmd.run(ops.make_admin, ref(room), user_id)


@command(app, "purge-history", yes=True)
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
) -> None:
    """Purge a room's history before a date (the latest message always stays)."""
    before_ms = moment_arg(before)
    cmd.run(ops.purge_history, ref(room), before_ms, local_events=local_events)


@command(app, "purge-empty", yes=True)
def purge_empty(
    cmd: Cmd,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list the empty rooms.")] = False,
    block: Annotated[bool, typer.Option("--block", help="Also block them.")] = False,
) -> None:
    """Delete and purge every room nobody is in any more."""
    cmd.run(ops.purge_empty, dry_run=dry_run, block=block)


@command(directory_app, "list")
def directory_list(cmd: Cmd, limit: Limit = None) -> None:
    """The rooms published in the directory, as users see them."""
    cmd.run(ops.directory, limit)


on_off_commands(
    directory_app,
    ("room", Room),
    lambda cmd, room, public: cmd.run(ops.set_listed, ref(room), public),
    on=("show", "Publish a room in the directory."),
    off=("hide", "Remove a room from the public directory (the room itself stays)."),
    off_first=True,
)


@command(alias_app, "list")
def alias_list(cmd: Cmd, room: Room) -> None:
    """The local aliases of a room."""
    cmd.run(ops.aliases, ref(room))


@command(alias_app, "delete", yes=True)
def alias_delete(
    cmd: Cmd,
    alias: Annotated[str, typer.Argument(help="The alias (#name:server) to remove.")],
) -> None:
    """Delete a room alias (the room stays; only the name stops pointing to it)."""
    cmd.run(ops.delete_alias, checked(ids.check_room_alias, alias))
