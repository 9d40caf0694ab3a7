"""Administration over many accounts, devices or rooms at once, as functions that return
one result per target: the actions (wmx.admin.actions) ask first and return the results
to show.

A failure on one target is that target's result ("failed: …"); the others go on.
"""

from __future__ import annotations

import multiprocessing
import re
import time
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from wmx.admin.client import SynapseAdmin
from wmx.admin.notices import NoticesDisabledError
from wmx.admin.tasks import wait_for_task
from wmx.admin.types import DeleteStatus, Device
from wmx.errors import InputError, WmxError

Result = dict[str, str | None]
OnUpdate = Callable[[str], None]


def _failed(exc: WmxError) -> str:
    return f"failed: {exc}"


# Accounts


def matches(pattern: str, user_id: str) -> bool:
    """Whether the whole id, or its localpart, matches `pattern`."""
    localpart = user_id[1:].split(":", 1)[0]
    return bool(re.fullmatch(pattern, user_id) or re.fullmatch(pattern, localpart))


# How long matching a pattern against every account may take. Python's re backtracks:
# `(a+)+` against a localpart of 34 a's and a `-` (anyone with a registration token can
# pick one) takes minutes, and it cannot be interrupted from its own thread.
MATCH_SECONDS = 10.0


def _send_matching(pattern: str, user_ids: list[str], answer: Connection) -> None:
    answer.send([u for u in user_ids if matches(pattern, u)])


def matching(pattern: str, user_ids: list[str], seconds: float = MATCH_SECONDS) -> list[str]:
    """The ids `pattern` matches, found in a child process that is killed after
    `seconds`: a pattern that backtracks without end is refused, not waited for."""
    context = multiprocessing.get_context("fork")
    answer, child_end = context.Pipe(duplex=False)
    child = context.Process(target=_send_matching, args=(pattern, user_ids, child_end))
    child.start()
    child_end.close()
    try:
        if answer.poll(seconds):
            try:
                found: list[str] = answer.recv()
                return found
            except EOFError:  # the child died without an answer
                pass
        raise InputError(
            f"--regex {pattern!r} did not finish matching {len(user_ids)} account(s) in "
            f"{seconds:.0f} s: a repetition inside a repetition, such as (a+)+, backtracks "
            "without end on some names; write it without one"
        )
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        answer.close()


def deactivation_targets(
    admin: SynapseAdmin,
    pattern: str,
    own: str,
    bridged: Callable[[str], bool] = lambda _: False,
) -> list[str]:
    """Active accounts matching `pattern`; never a server admin, never wmx's own, never
    one `bridged` says an appservice owns (the IRC bridge's bot and puppets: `.*` had
    taken the bridge's bot and broken the bridge)."""
    candidates = [
        u["name"]
        for u in admin.users.listing(guests=True).items
        if not u.get("admin") and u["name"] != own and not bridged(u["name"])
    ]
    return matching(pattern, candidates)


def deactivate_each(admin: SynapseAdmin, user_ids: Iterable[str], *, erase: bool) -> list[Result]:
    results: list[Result] = []
    for user_id in user_ids:
        try:
            admin.users.deactivate(user_id, erase=erase)
            results.append({"user_id": user_id, "result": "deactivated"})
        except WmxError as exc:
            results.append({"user_id": user_id, "result": _failed(exc)})
    return results


def stale_devices(
    devices: Iterable[Device], older_than_days: int, *, never_seen: bool, now: float | None = None
) -> list[Device]:
    """Devices not seen for `older_than_days`; never-seen ones only with `never_seen` (a
    login that has not made a request yet looks the same)."""
    cutoff_ms = ((time.time() if now is None else now) - older_than_days * 86400) * 1000

    def stale(device: Device) -> bool:
        seen = device.get("last_seen_ts")
        return never_seen if seen is None else seen < cutoff_ms

    return [d for d in devices if stale(d)]


def notice_recipients(
    admin: SynapseAdmin,
    own: str,
    named: Sequence[str],
    bridged: Callable[[str], bool] = lambda _: False,
) -> list[str]:
    """The accounts a notice goes to: the `named` ones (each must exist: 404 → exit 2),
    or, when none is named, every local account but wmx's own, support and bots, and
    those `bridged` says an appservice owns: Synapse's listing types neither its bot nor
    its puppets as bots, and each would get a Server Notices room nobody reads."""
    if named:
        for user_id in named:
            admin.users.get(user_id)
        return list(named)
    return [
        u["name"]
        for u in admin.users.listing().items
        if u["name"] != own
        and u.get("user_type") not in ("support", "bot")
        and not bridged(u["name"])
    ]


def send_notices(
    admin: SynapseAdmin,
    recipients: Sequence[str],
    body: str,
    on_next: Callable[[int, str], None] | None = None,
) -> list[Result]:
    """Send `body` to each recipient; notices switched off on the server stop it all."""
    results: list[Result] = []
    for index, user_id in enumerate(recipients, 1):
        if on_next:
            on_next(index, user_id)
        try:
            event_id = admin.notices.send(user_id, body)
            results.append({"user_id": user_id, "result": "sent", "event_id": event_id})
        except NoticesDisabledError:
            raise
        except WmxError as exc:
            results.append({"user_id": user_id, "result": _failed(exc), "event_id": None})
    return results


# Media

# Synapse's statistics of each account's uploads: the accounts that have any.
UPLOADERS = "/_synapse/admin/v1/statistics/users/media"


def unused_media(
    admin: SynapseAdmin, server: str, before_ms: int, *, size_gt: int, keep_profiles: bool
) -> list[dict[str, Any]]:
    """The local media `POST /media/delete?before_ts=…` would delete (`media delete
    --before --dry-run`), found as Synapse finds it: last used (or, never used, made)
    before `before_ms`, larger than `size_gt` bytes, neither quarantined nor protected,
    and with `keep_profiles` no account's or room's avatar. Read from each uploader's
    media listing; an avatar set in one room only (Synapse keeps it too) is not known
    here."""
    avatars: set[str] = set()
    if keep_profiles:
        avatars |= {
            str(u.get("avatar_url"))
            for u in admin.users.pages(guests=True, deactivated=True).collect().items
        }
        avatars |= {str(r.get("avatar")) for r in admin.rooms.pages().collect().items}
    uploaders = admin.http.pages(UPLOADERS, "users").collect().items
    found = []
    for uploader in uploaders:
        user_id = uploader.get("user_id")
        if not user_id or not uploader.get("media_count"):
            continue
        for media in admin.media.of_user(str(user_id)).items:
            uri = f"mxc://{server}/{media.get('media_id')}"
            last_used = media.get("last_access_ts") or media.get("created_ts")
            if (
                isinstance(last_used, int)
                and last_used < before_ms
                and int(media.get("media_length") or 0) > size_gt
                and not media.get("quarantined_by")
                and not media.get("safe_from_quarantine")
                and uri not in avatars
            ):
                found.append({**media, "media": uri, "user_id": user_id, "last_used_ts": last_used})
    return found


# Rooms


def describe_delete(state: DeleteStatus) -> str:
    result = state.get("shutdown_room") or {}
    kicked = len(result.get("kicked_users") or [])
    return f"{state.get('status')} ({kicked} member(s) removed so far)"


def delete_room(
    admin: SynapseAdmin,
    room_id: str,
    *,
    purge: bool,
    block: bool,
    message: str | None,
    new_room_user_id: str | None = None,
    on_update: OnUpdate | None = None,
) -> DeleteStatus:
    """Delete a room (v2, in the background) and wait for Synapse to finish; with a
    `message`, `new_room_user_id` makes the room the members are moved into."""
    delete_id = admin.rooms.start_delete(
        room_id, purge=purge, block=block, message=message, new_room_user_id=new_room_user_id
    )
    what = f"Deleting {room_id}"

    def update(state: DeleteStatus) -> None:
        if on_update:
            on_update(f"{what}: {describe_delete(state)}")

    return wait_for_task(lambda: admin.rooms.delete_status(delete_id), what=what, on_update=update)


def delete_each(
    admin: SynapseAdmin,
    room_ids: Iterable[str],
    *,
    block: bool,
    on_update: OnUpdate | None = None,
) -> list[Result]:
    """Delete and purge each room (`purge-empty`); a room's result is its final status."""
    results: list[Result] = []
    for room_id in room_ids:
        try:
            final = delete_room(
                admin, room_id, purge=True, block=block, message=None, on_update=on_update
            )
            results.append({"room_id": room_id, "result": final.get("status")})
        except WmxError as exc:
            results.append({"room_id": room_id, "result": _failed(exc)})
    return results
