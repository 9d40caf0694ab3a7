"""How the administration commands show what the Admin API answers: the columns of each
listing, the fields of each record, and the reports of the long operations (deleting a
room, redacting a user's events). Generic output (tables, records, pages, JSON/YAML) is
wmx.present; this module knows the shapes of Synapse's answers. Everything a server or a
user wrote is shown as text, never as Rich markup."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from wmx.admin.tasks import wait_for_task
from wmx.present import Column, columns, console, esc, status_line, when, yes_no

S = TypeVar("S", bound=Mapping[str, Any])


def follow_task(
    what: str,
    poll: Callable[[], S],
    *,
    describe: Callable[[S], str] | None = None,
    timeout: float = 3600.0,
) -> S:
    """Wait for a Synapse background task with a live status line; return its last state."""
    with status_line(f"{what}: starting…") as update:

        def show(state: S) -> None:
            update(f"{what}: {describe(state) if describe else state.get('status', '')}")

        return wait_for_task(poll, what=what, on_update=show, timeout=timeout)


def short(text: str, width: int) -> str:
    """`text` cut to `width` characters, the cut marked with …"""
    return text if len(text) <= width else text[: width - 1] + "…"


def size(value: object) -> str:
    """A file size in binary units (B, KiB, MiB, GiB), rounded down; empty when unknown."""
    if not isinstance(value, int):
        return ""
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value} {unit}"
        value //= 1024
    return f"{value} GiB"


def _value(key: str) -> Column:
    """A one-column listing of plain values (members, aliases)."""
    return Column(key, lambda value: value)


# --- accounts ----------------------------------------------------------------------------

USER_COLUMNS = columns(
    "user:name, display name:displayname, admin, guest:is_guest, deactivated, locked, "
    "last seen:last_seen_ts, created:creation_ts"
)


def _emails(user: Mapping[str, Any]) -> str:
    found = [t.get("address") for t in user.get("threepids") or [] if t.get("medium") == "email"]
    return ", ".join(str(e) for e in found)


# `wmx user show`: the account, with `joined_rooms` added to Synapse's answer.
USER_FIELDS = [
    *columns(
        "user:name, display name:displayname, admin, guest:is_guest, user type:user_type, "
        "deactivated, erased, locked, suspended, shadow-banned:shadow_banned"
    ),
    Column("e-mail", _emails),
    *columns("created:creation_ts, last seen:last_seen_ts"),
    Column("rooms", lambda user: len(user["joined_rooms"])),
]
CONNECTION_COLUMNS = columns(
    "device, address:ip, last seen:last_seen, client:user_agent", last_seen=when
)
DEVICE_COLUMNS = columns(
    "device:device_id, name:display_name, last seen:last_seen_ts, from:last_seen_ip, "
    "client:last_seen_user_agent"
)
PRUNED_DEVICE_COLUMNS = [Column("logged out", lambda d: d["device_id"]), *DEVICE_COLUMNS[1:]]


def import_columns(with_passwords: bool) -> list[Column]:
    """`wmx user import`'s rows; the generated passwords only when they are shown."""
    shown = ", password (shown once):password" if with_passwords else ""
    return columns(f"line, user:user_id, result{shown}")


def show_redaction(redact_id: str, state: Mapping[str, Any]) -> None:
    """A redaction's status and each event it could not redact, with the cause."""
    console.print(f"Redaction {esc(redact_id)}: [bold]{esc(state.get('status'))}[/]")
    for event_id, cause in (state.get("failed_redactions") or {}).items():
        console.print(f"  not redacted: {esc(event_id)}: {esc(cause)}")


# --- rooms -------------------------------------------------------------------------------

ROOM_COLUMNS = columns(
    "room:room_id, name, alias:canonical_alias, members:joined_members, "
    "local:joined_local_members, public, encrypted:encryption, creator",
    encryption=yes_no,
)
# `wmx room show`: the room, with `blocked` added to Synapse's answer.
ROOM_FIELDS = columns(
    "room:room_id, name, topic, alias:canonical_alias, members:joined_members, "
    "local members:joined_local_members, version, creator, public, "
    "join rule:join_rules, history:history_visibility, encryption, "
    "federates:federatable, blocked"
)
MEMBER_COLUMNS = [_value("member")]
ALIAS_COLUMNS = [_value("alias")]
STATE_COLUMNS = [
    *columns("type, state key:state_key, sender, when:origin_server_ts"),
    Column(
        "content",
        lambda e: short(json.dumps(e.get("content"), ensure_ascii=False, sort_keys=True), 80),
    ),
]
EMPTY_ROOM_COLUMNS = columns("empty room:room_id, name")
DIRECTORY_COLUMNS = columns("room:room_id, name, alias:canonical_alias, members:num_joined_members")


def show_room_deletion(room_id: str, final: Mapping[str, Any], *, purge: bool, block: bool) -> None:
    """A v2 room deletion's outcome: its status, the members removed (and those that could
    not be), the room they were moved into with the message (`--message`), where the
    local aliases went, whether it was purged and blocked."""
    result = final.get("shutdown_room") or {}
    console.print(f"Room {esc(room_id)}: [bold]{esc(final.get('status'))}[/]")
    console.print(f"  members removed: {len(result.get('kicked_users') or [])}")
    for user in result.get("failed_to_kick_users") or []:
        console.print(f"  could not remove: {esc(user)}")
    new_room = result.get("new_room_id")
    if new_room:
        console.print(f"  members moved into: {esc(new_room)}, which holds the message")
    if result.get("local_aliases"):
        # Synapse names them only when it moved them into the new room.
        done = "moved there" if new_room else "removed"
        console.print(f"  aliases {done}: {esc(', '.join(result.get('local_aliases') or []))}")
    console.print(f"  purged: {'yes' if purge else 'no'}; blocked: {'yes' if block else 'no'}")


# --- media -------------------------------------------------------------------------------


def media_columns(server: str) -> list[Column]:
    """`wmx media list --user`: a user's uploads (local media of `server`)."""
    uploads = columns(
        "type:media_type, size:media_length, name:upload_name, uploaded:created_ts, "
        "quarantined by:quarantined_by, protected:safe_from_quarantine",
        media_length=size,
    )
    return [Column("media", lambda m: f"mxc://{server}/{m['media_id']}"), *uploads]


def media_fields(server: str, media_id: str) -> list[Column]:
    """`wmx media show`: what Synapse records about one piece of media."""
    fields = columns(
        "type:media_type, size:media_length, name:upload_name, uploaded by:user_id, "
        "uploaded:created_ts, last access:last_access_ts, "
        "quarantined by:quarantined_by, protected:safe_from_quarantine",
        media_length=size,
    )
    return [Column("media", lambda _: f"mxc://{server}/{media_id}"), *fields]


ROOM_MEDIA_COLUMNS = columns("media, origin")
# `wmx media delete --before … --dry-run`: what would go.
UNUSED_MEDIA_COLUMNS = columns(
    "would delete:media, uploaded by:user_id, type:media_type, size:media_length, "
    "name:upload_name, last used:last_used_ts",
    media_length=size,
)


def room_media_rows(found: Mapping[str, Any]) -> list[dict[str, str]]:
    """The media a room's messages refer to, local then remote, one row each."""
    return [
        {"media": m, "origin": origin}
        for origin in ("local", "remote")
        for m in found.get(origin, [])
    ]


# --- reports ---------------------------------------------------------------------------


def _reported_body(report: Mapping[str, Any]) -> str:
    content = (report.get("event_json") or {}).get("content") or {}
    return short(str(content.get("body", "")), 60)


REPORT_COLUMNS = [
    *columns("id, received:received_ts, reporter:user_id, sender"),
    Column("room", lambda r: r.get("canonical_alias") or r.get("name") or r.get("room_id")),
    *columns("reason"),
]
REPORT_FIELDS = [
    *columns(
        "id, received:received_ts, reporter:user_id, reason, score, room:room_id, "
        "room name:name, event:event_id, sender"
    ),
    Column("message", _reported_body),
]


# --- the first admin ---------------------------------------------------------------------


def show_bootstrap(
    user_id: str,
    existing: Mapping[str, Any] | None,
    *,
    homeserver_host: str,
    server_name: str,
    generated: str | None,
) -> None:
    """How to log in as the first admin (`wmx admin bootstrap`): created or found, where,
    the password when wmx generated it (shown this once), else how to reset it."""
    name = user_id[1:].split(":", 1)[0]
    if existing is None:
        console.print(f"Created admin [bold]{esc(user_id)}[/].")
    else:
        role = "a server admin" if existing.get("admin") else "NOT a server admin"
        console.print(f"[bold]{esc(user_id)}[/] exists already ({role}); nothing was changed.")
    console.print(f"  Homeserver: https://{homeserver_host}/")
    console.print(f"  (clients also find it from the server name {server_name})")
    console.print(f"  User:       {esc(user_id)}")
    if generated is not None:
        console.print(f"  Password:   {esc(generated)}   (shown once; store it now)")
    elif existing is not None:
        console.print(f"  Password forgotten? `wmx user reset-password {name} --generate-password`")
        if not existing.get("admin"):
            console.print(f"  Make it an admin: `wmx user admin {name} on`")
