"""The bridge's state as Heisenbridge itself keeps it: account data of its bot.

Global account data `irc` holds the bridge's configuration (networks, allow masks,
defaults for new rooms); each room the bot manages has room account data `irc` saying
what it is (ControlRoom, NetworkRoom, PlumbedRoom, …), whose it is, and its settings.
wmx reads both through the Admin API as its admin account. Some of it is secret (users'
SASL and server passwords, client certificates): those values are dropped on reading,
except for a digest of SASL passwords, so that wmx can tell whether the relay's is right
without ever holding another user's password.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wmx.admin.http import AdminHttp, endpoint

ACCOUNT_DATA_TYPE = "irc"
# Keys of room account data that may hold secrets: never kept.
_SECRET_KEYS = frozenset({"password", "sasl_password", "tls_cert", "autocmd", "media_key"})

CONTROL_ROOM = "ControlRoom"
NETWORK_ROOM = "NetworkRoom"
PLUMBED_ROOM = "PlumbedRoom"
CHANNEL_ROOM = "ChannelRoom"
PRIVATE_ROOM = "PrivateRoom"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ServerEntry:
    """One server of a network as the bridge has it."""

    address: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return f"{self.address}:{self.port}" + (":tls" if self.tls else "")


@dataclass(frozen=True)
class BridgeRoom:
    """One room the bot manages, from its room account data (secrets removed)."""

    room_id: str
    kind: str
    user_id: str
    joined: bool  # the bot is in the room now (else Heisenbridge ignores it)
    settings: Mapping[str, Any] = field(default_factory=dict)
    sasl_password_digest: str | None = None

    @property
    def name(self) -> str:
        """The network's name (network rooms), the channel (channel and plumbed rooms)."""
        return str(self.settings.get("name") or "")

    @property
    def network_id(self) -> str:
        return str(self.settings.get("network_id") or "")

    @property
    def connected(self) -> bool:
        """Network rooms: the user asked to be connected (kept across restarts)."""
        return bool(self.settings.get("connected"))


@dataclass(frozen=True)
class BridgeState:
    """What the bridge is configured to do, and the rooms it manages."""

    config: Mapping[str, Any]
    rooms: Mapping[str, BridgeRoom]

    @property
    def networks(self) -> dict[str, list[ServerEntry]]:
        found: dict[str, list[ServerEntry]] = {}
        for name, body in dict(self.config.get("networks") or {}).items():
            servers = []
            for server in (body or {}).get("servers") or []:
                if isinstance(server, dict):
                    servers.append(
                        ServerEntry(
                            address=str(server.get("address", "")),
                            port=int(server.get("port", 6667)),
                            tls=bool(server.get("tls")),
                        )
                    )
            found[str(name)] = servers
        return found

    @property
    def allow(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in dict(self.config.get("allow") or {}).items()}

    @property
    def owner(self) -> str | None:
        owner = self.config.get("owner")
        return str(owner) if owner else None

    def live(self, kind: str | None = None, user_id: str | None = None) -> list[BridgeRoom]:
        """Rooms the bot is in (the ones Heisenbridge runs), of a kind and user."""
        return [
            r
            for r in self.rooms.values()
            if r.joined
            and (kind is None or r.kind == kind)
            and (user_id is None or r.user_id == user_id)
        ]

    def control_room(self, user_id: str) -> BridgeRoom | None:
        rooms = self.live(CONTROL_ROOM, user_id)
        return rooms[0] if rooms else None

    def network_room(self, user_id: str, network: str) -> BridgeRoom | None:
        for room in self.live(NETWORK_ROOM, user_id):
            if room.name.lower() == network.lower():
                return room
        return None

    def plumbed(self, network_room: BridgeRoom) -> dict[str, BridgeRoom]:
        """Channel (lower case) → plumbed room, for one network room (one connection)."""
        return {
            r.name.lower(): r
            for r in self.live(PLUMBED_ROOM, network_room.user_id)
            if r.network_id == network_room.room_id
            or (not r.network_id and r.settings.get("network_name") == network_room.name)
        }

    def connections(self, network: str) -> list[BridgeRoom]:
        """Network rooms of every user on `network` that ask to be connected."""
        return [
            r for r in self.live(NETWORK_ROOM) if r.name.lower() == network.lower() and r.connected
        ]


def parse_state(account_data: Mapping[str, Any], joined: set[str]) -> BridgeState:
    """Build the state from the Admin API's account data answer and the bot's rooms."""
    data = account_data.get("account_data", account_data)
    config = dict((data.get("global") or {}).get(ACCOUNT_DATA_TYPE) or {})
    config.pop("media_key", None)
    rooms: dict[str, BridgeRoom] = {}
    for room_id, types in dict(data.get("rooms") or {}).items():
        body = (types or {}).get(ACCOUNT_DATA_TYPE)
        if not isinstance(body, dict) or "type" not in body:
            continue
        password = body.get("sasl_password")
        rooms[room_id] = BridgeRoom(
            room_id=str(room_id),
            kind=str(body["type"]),
            user_id=str(body.get("user_id") or ""),
            joined=room_id in joined,
            settings={k: v for k, v in body.items() if k not in _SECRET_KEYS},
            sasl_password_digest=digest(str(password)) if password else None,
        )
    return BridgeState(config=config, rooms=rooms)


def read_state(http: AdminHttp, bot_user_id: str) -> BridgeState:
    """The bridge's state now (two Admin API requests)."""
    data = http.get(
        endpoint("/_synapse/admin/v1/users/{}/accountdata", bot_user_id),
        not_found=f"{bot_user_id} does not exist: has the IRC bridge ever run? (wmx deploy)",
    )
    rooms = http.get(endpoint("/_synapse/admin/v1/users/{}/joined_rooms", bot_user_id))
    return parse_state(data, set(rooms.get("joined_rooms") or []))
