"""What Synapse's Admin API answers, as typed dictionaries.

`total=False`: Synapse adds fields between releases and omits some; the CLI prints whole
objects in `--output json|yaml`, so nothing the server says is lost by being typed here.
"""

from __future__ import annotations

from typing import Any, TypedDict


class UserSummary(TypedDict, total=False):
    name: str  # the user id
    displayname: str | None
    is_guest: bool
    admin: bool
    deactivated: bool
    erased: bool
    shadow_banned: bool
    locked: bool
    user_type: str | None
    avatar_url: str | None
    creation_ts: int
    last_seen_ts: int | None


class UserDetails(UserSummary, total=False):
    suspended: bool
    threepids: list[dict[str, Any]]
    external_ids: list[dict[str, Any]]
    appservice_id: str | None
    consent_version: str | None


class Device(TypedDict, total=False):
    device_id: str
    display_name: str | None
    last_seen_ip: str | None
    last_seen_ts: int | None
    last_seen_user_agent: str | None
    user_id: str


class Connection(TypedDict, total=False):
    ip: str
    last_seen: int
    user_agent: str


class Session(TypedDict, total=False):
    connections: list[Connection]


class DeviceSessions(TypedDict, total=False):
    sessions: list[Session]


class Whois(TypedDict, total=False):
    user_id: str
    devices: dict[str, DeviceSessions]


class RedactStatus(TypedDict, total=False):
    status: str  # scheduled | active | complete | failed
    failed_redactions: dict[str, str]
    error: str


class RoomSummary(TypedDict, total=False):
    room_id: str
    name: str | None
    canonical_alias: str | None
    joined_members: int
    joined_local_members: int
    version: str
    creator: str
    encryption: str | None
    federatable: bool
    public: bool
    join_rules: str | None
    guest_access: str | None
    history_visibility: str | None
    state_events: int
    room_type: str | None


class RoomDetails(RoomSummary, total=False):
    avatar: str | None
    topic: str | None
    joined_local_devices: int
    forgotten: bool


class StateEvent(TypedDict, total=False):
    type: str
    state_key: str
    sender: str
    event_id: str
    origin_server_ts: int
    content: dict[str, Any]


class ShutdownResult(TypedDict, total=False):
    kicked_users: list[str]
    failed_to_kick_users: list[str]
    local_aliases: list[str]
    new_room_id: str | None


class DeleteStatus(TypedDict, total=False):
    delete_id: str
    room_id: str
    status: str  # scheduled | active | complete | failed (older: shutting_down, purging)
    error: str
    shutdown_room: ShutdownResult | None


class PurgeStatus(TypedDict, total=False):
    status: str  # active | complete | failed
    error: str


class BlockStatus(TypedDict, total=False):
    block: bool
    user_id: str


class Media(TypedDict, total=False):
    media_id: str
    media_type: str
    media_length: int
    upload_name: str | None
    created_ts: int
    last_access_ts: int | None
    quarantined_by: str | None
    safe_from_quarantine: bool


class MediaInfo(TypedDict, total=False):
    media_info: dict[str, Any]


class RoomMedia(TypedDict, total=False):
    local: list[str]
    remote: list[str]


class DeletedMedia(TypedDict, total=False):
    deleted_media: list[str]
    total: int


class RegistrationToken(TypedDict, total=False):
    token: str
    uses_allowed: int | None
    pending: int
    completed: int
    expiry_time: int | None


class EventReport(TypedDict, total=False):
    id: int
    received_ts: int
    room_id: str
    name: str | None
    event_id: str
    user_id: str
    reason: str | None
    score: int | None
    sender: str
    canonical_alias: str | None
    event_json: dict[str, Any]
