"""What administration commands act on: the account or room an operator named, resolved
and known to exist before anything changes, and the accounts wmx will not touch.

Ids reach these functions already checked against their grammar (wmx.admin.ids); an
unknown account, room or alias fails with a 404, which is an input error (exit 2).
"""

from __future__ import annotations

from wmx.admin.account import admin_user_id
from wmx.admin.client import SynapseAdmin
from wmx.errors import InputError
from wmx.site import Site


def refuse_own_account(site: Site, user_id: str, action: str) -> None:
    """wmx signs in as its own admin account: locking, deactivating or demoting it would
    cut wmx off from the server, so it refuses (`action` says what it refuses)."""
    if user_id == admin_user_id(site):
        raise InputError(f"{user_id} is wmx's own admin account: wmx will not {action} it")


def room_id_of(admin: SynapseAdmin, room: str) -> str:
    """The room id behind a checked room id or alias (an unknown alias → exit 2); the
    room itself need not be known here (rooms may be blocked before anyone joins)."""
    return admin.rooms.resolve_alias(room) if room.startswith("#") else room


def existing_room(admin: SynapseAdmin, room: str) -> str:
    """The id of a room this homeserver knows, from its id or an alias (404 → exit 2)."""
    room_id = room_id_of(admin, room)
    admin.rooms.get(room_id)
    return room_id
