"""Rooms: list, inspect, delete (v2, in the background), block, purge history, and the
room directory and aliases (Client-Server API endpoints that server admins may use)."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack, cast

from wmx.admin.http import (
    LISTING_PAGE_SIZE,
    PAGE_SIZE,
    V1,
    V2,
    ApiGroup,
    Listing,
    PageStream,
    endpoint,
)
from wmx.admin.types import (
    BlockStatus,
    DeleteStatus,
    PurgeStatus,
    RoomDetails,
    RoomSummary,
    StateEvent,
)

CLIENT = "/_matrix/client/v3"
# The name of the room a deletion's message is posted in (Synapse's own default, sent so
# that what wmx says members see stays true).
NOTICE_ROOM_NAME = "Content Violation Notification"


# The orderings Synapse sorts largest first by itself (`dir=f`), where `dir=b` gives the
# smallest first: the counts and the room version (synapse/storage/databases/main/room.py,
# `get_rooms_paginate`; "size" is the deprecated name of joined_members). Every other
# ordering is smallest, first or A-Z first with `dir=f`.
LARGEST_FIRST_ORDERINGS = frozenset(
    {"joined_members", "joined_local_members", "version", "state_events", "size"}
)


def room_list_direction(order_by: str, *, descending: bool) -> str:
    """Synapse's `dir` for `wmx room list --sort ORDER [--desc]`: `--desc` is largest,
    last or Z-A first for every ordering, and without it the smallest, first or A-Z."""
    natural_largest_first = order_by in LARGEST_FIRST_ORDERINGS
    return "f" if descending == natural_largest_first else "b"


def unknown_room(room_id: str) -> str:
    return f"unknown room {room_id} (this homeserver does not know it)"


class RoomFilters(TypedDict, total=False):
    search: str | None  # name, alias or id containing this
    order_by: str
    backwards: bool  # largest, last or Z-A first (whatever the ordering)
    empty_only: bool
    public_only: bool
    limit: int | None


class RoomsApi(ApiGroup):
    def listing(self, **filters: Unpack[RoomFilters]) -> Listing[RoomSummary]:
        return self.pages(page_size=PAGE_SIZE, **filters).collect()

    def pages(
        self, *, page_size: int = LISTING_PAGE_SIZE, **filters: Unpack[RoomFilters]
    ) -> PageStream[RoomSummary]:
        """The rooms in large pages, each fetched as the caller iterates."""
        order_by = filters.get("order_by", "name")
        params = {
            "search_term": filters.get("search") or None,
            "order_by": order_by,
            "dir": room_list_direction(order_by, descending=bool(filters.get("backwards"))),
            "empty_rooms": True if filters.get("empty_only") else None,
            "public_rooms": True if filters.get("public_only") else None,
        }
        return cast(
            PageStream[RoomSummary],
            self._http.pages(
                f"{V1}/rooms",
                "rooms",
                params=params,
                limit=filters.get("limit"),
                next_key="next_batch",
                total_key="total_rooms",
                page_size=page_size,
            ),
        )

    def get(self, room_id: str) -> RoomDetails:
        return cast(
            RoomDetails,
            self._http.get(endpoint(V1 + "/rooms/{}", room_id), not_found=unknown_room(room_id)),
        )

    def members(self, room_id: str) -> list[str]:
        return self._http.get_list(
            endpoint(V1 + "/rooms/{}/members", room_id), "members", not_found=unknown_room(room_id)
        )

    def state(self, room_id: str) -> list[StateEvent]:
        return self._http.get_list(
            endpoint(V1 + "/rooms/{}/state", room_id), "state", not_found=unknown_room(room_id)
        )

    def start_delete(
        self,
        room_id: str,
        *,
        purge: bool,
        block: bool,
        message: str | None = None,
        new_room_user_id: str | None = None,
        force_purge: bool = False,
    ) -> str:
        """Shut the room down (kick every local member) and optionally purge and block it,
        in the background: returns the delete id to poll. With a `message`, the local
        user `new_room_user_id` makes a new room (NOTICE_ROOM_NAME), Synapse moves the
        members and the local aliases into it, and the message is its first event."""
        body: dict[str, Any] = {"purge": purge, "block": block, "force_purge": force_purge}
        if message:
            # Synapse reads `message` only with `new_room_user_id`: alone, it was dropped.
            if not new_room_user_id:
                raise ValueError("a deletion's message needs new_room_user_id to post it")
            body.update(
                new_room_user_id=new_room_user_id, room_name=NOTICE_ROOM_NAME, message=message
            )
        data = self._http.delete(
            endpoint(V2 + "/rooms/{}", room_id), json=body, keys=("delete_id",)
        )
        return str(data["delete_id"])

    def delete_status(self, delete_id: str) -> DeleteStatus:
        return cast(
            DeleteStatus,
            self._http.get(
                endpoint(V2 + "/rooms/delete_status/{}", delete_id),
                not_found=f"unknown room deletion {delete_id}",
            ),
        )

    def block_status(self, room_id: str) -> BlockStatus:
        return cast(BlockStatus, self._http.get(endpoint(V1 + "/rooms/{}/block", room_id)))

    def set_blocked(self, room_id: str, blocked: bool) -> None:
        self._http.put(endpoint(V1 + "/rooms/{}/block", room_id), json={"block": blocked})

    def make_admin(self, room_id: str, user_id: str) -> None:
        """Give `user_id` the highest power level in the room, using a local member who
        has it (Synapse invites the user when the room is not public)."""
        self._http.post(
            endpoint(V1 + "/rooms/{}/make_room_admin", room_id),
            json={"user_id": user_id},
            not_found=unknown_room(room_id),
        )

    def start_purge_history(
        self, room_id: str, before_ms: int, *, delete_local_events: bool = False
    ) -> str:
        data = self._http.post(
            endpoint(V1 + "/purge_history/{}", room_id),
            json={"purge_up_to_ts": before_ms, "delete_local_events": delete_local_events},
            not_found=unknown_room(room_id),
            keys=("purge_id",),
        )
        return str(data["purge_id"])

    def purge_history_status(self, purge_id: str) -> PurgeStatus:
        return cast(
            PurgeStatus,
            self._http.get(
                endpoint(V1 + "/purge_history_status/{}", purge_id),
                not_found=f"unknown history purge {purge_id}",
            ),
        )

    # Aliases and the room directory: Client-Server endpoints where server admins may act
    # on any room.

    def resolve_alias(self, alias: str) -> str:
        data = self._http.get(
            endpoint(CLIENT + "/directory/room/{}", alias),
            not_found=f"unknown room alias {alias} (it points to no room)",
            keys=("room_id",),
        )
        return str(data["room_id"])

    def delete_alias(self, alias: str) -> None:
        self._http.delete(
            endpoint(CLIENT + "/directory/room/{}", alias),
            not_found=f"unknown room alias {alias} (it points to no room)",
        )

    def aliases(self, room_id: str) -> list[str]:
        return self._http.get_list(
            endpoint(CLIENT + "/rooms/{}/aliases", room_id),
            "aliases",
            not_found=unknown_room(room_id),
        )

    def directory_visibility(self, room_id: str) -> str:
        data = self._http.get(
            endpoint(CLIENT + "/directory/list/room/{}", room_id),
            not_found=unknown_room(room_id),
        )
        return str(data.get("visibility", "private"))

    def set_directory_visibility(self, room_id: str, public: bool) -> None:
        self._http.put(
            endpoint(CLIENT + "/directory/list/room/{}", room_id),
            json={"visibility": "public" if public else "private"},
            not_found=unknown_room(room_id),
        )

    def public_rooms(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The published room directory as clients see it."""
        path = f"{CLIENT}/publicRooms"
        rooms: list[dict[str, Any]] = []
        since: str | int | None = None
        seen: set[str] = set()
        while True:
            data = self._http.get(path, params={"limit": 100, "since": since})
            chunk = data.get("chunk", [])
            if not isinstance(chunk, list):
                raise self._http.unexpected("GET", path, 200, "'chunk' not a list", str(data))
            rooms += chunk
            following = data.get("next_batch")
            if not following or (limit is not None and len(rooms) >= limit):
                return rooms[:limit] if limit is not None else rooms
            since = self._http.next_page(path, "next_batch", following, seen, len(rooms))
