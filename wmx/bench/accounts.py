"""The run's own accounts, made through the Admin API before the load and removed after.

Each account is `@wmx-bench-RUN-N:server` (RUN: 8 random hex digits, so runs never meet),
with a random password nobody keeps, Synapse's per-user rate limit overridden (a bench
measures the server, not its limiter), and an access token from the Admin API's
"login as user" (no password login: Synapse's per-address login limit would throttle the
setup). Removal shuts the rooms down with a purge and deactivates the accounts with
erasure; Synapse never deletes an account, so the ids stay taken, which the random RUN
makes harmless.
"""

from __future__ import annotations

import secrets as csprng
import time
from dataclasses import dataclass, field

from wmx.admin.client import SynapseAdmin
from wmx.admin.http import V1, endpoint

LOCALPART_PREFIX = "wmx-bench-"
DELETE_WAIT = 60.0


@dataclass(frozen=True)
class BenchAccount:
    user_id: str
    token: str = field(repr=False)


def new_run_id() -> str:
    return csprng.token_hex(4)


def user_ids(server_name: str, run_id: str, count: int) -> list[str]:
    return [f"@{LOCALPART_PREFIX}{run_id}-{n}:{server_name}" for n in range(count)]


def create_accounts(admin: SynapseAdmin, ids: list[str]) -> list[BenchAccount]:
    """Create the accounts (in order; a failure leaves the ones made so far, which
    `remove` takes whether or not they exist)."""
    made: list[BenchAccount] = []
    for user_id in ids:
        admin.users.create(user_id, csprng.token_urlsafe(24), displayname="wmx bench")
        admin.http.post(
            endpoint(V1 + "/users/{}/override_ratelimit", user_id),
            json={"messages_per_second": 0, "burst_count": 0},
        )
        data = admin.http.post(endpoint(V1 + "/users/{}/login", user_id), json={})
        made.append(BenchAccount(user_id, str(data["access_token"])))
    return made


def remove(admin: SynapseAdmin, ids: list[str], room_ids: list[str]) -> list[str]:
    """Shut the rooms down (purged) and deactivate the accounts (erased); returns what
    could not be removed, one line each, so the caller can say so."""
    left: list[str] = []
    deleting: dict[str, str] = {}
    for room_id in room_ids:
        try:
            deleting[room_id] = admin.rooms.start_delete(room_id, purge=True, block=False)
        except Exception as exc:
            left.append(f"room {room_id}: {exc}")
    left += _wait_deleted(admin, deleting)
    for user_id in ids:
        try:
            if admin.users.exists(user_id):
                admin.users.deactivate(user_id, erase=True)
        except Exception as exc:
            left.append(f"account {user_id}: {exc}")
    return left


def _wait_deleted(admin: SynapseAdmin, deleting: dict[str, str]) -> list[str]:
    """Wait for Synapse's background deletions to finish (a purge of a bench room takes
    seconds); what is still running after DELETE_WAIT is reported, not waited for."""
    left: list[str] = []
    deadline = time.monotonic() + DELETE_WAIT
    for room_id, delete_id in deleting.items():
        while True:
            try:
                status = admin.rooms.delete_status(delete_id).get("status")
            except Exception as exc:
                left.append(f"room {room_id}: {exc}")
                break
            if status == "complete":
                break
            if status == "failed" or time.monotonic() > deadline:
                left.append(f"room {room_id}: deletion {status}")
                break
            time.sleep(0.2)
    return left
