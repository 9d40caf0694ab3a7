"""The database rule on real releases: Synapse 1.160.0 writes a database, 1.163.2 opens
and migrates it and passes the upgrade's gate, and 1.160.0 starts again on the upgraded
database and passes the gate too, with the history intact — what `wmx upgrade plan`
read from the two wheels' SCHEMA_VERSION/SCHEMA_COMPAT_VERSION (94/84 both: "keeps").
The releases run as processes on one data directory (SQLite), the way the `current`
link switches them on a host."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.integration import synapse_server
from tests.integration.synapse_server import start_synapse, synapse_python
from wmx.admin.registration import register_user
from wmx.ops.upgrade import _create_canary_room
from wmx.ops.upgrade_gate import CANARY_LOCALPART, Canary, GateTarget, run_gate
from wmx.ops.upgrade_plan import database_rule
from wmx.ops.upgrade_release import Schema
from wmx.site.secrets import Secrets

OLD, NEW = "1.160.0", "1.163.2"
pytestmark = pytest.mark.timeout(900)
# Not httpx's default 5 s: each release has just started, migrated the database and set
# off its background updates when the test's requests reach it.
TIMEOUT = 30


@pytest.fixture
def releases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    running: list[synapse_server.TestSynapse] = []

    def start(version: str) -> synapse_server.TestSynapse:
        monkeypatch.setattr(synapse_server, "synapse_python", lambda: synapse_python(version))
        server = start_synapse(tmp_path / "data", shared_secrets)
        running.append(server)
        return server

    shared_secrets = Secrets.generate()
    try:
        yield {"start": start, "secrets": shared_secrets}
    finally:
        for server in running:
            server.stop()


def _history(url: str, token: str, room: str) -> list[str]:
    answer = httpx.get(
        f"{url}/_matrix/client/v3/rooms/{quote(room)}/messages",
        params={"dir": "b", "limit": "50"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    return [e["content"].get("body") for e in answer.json()["chunk"]]


def _login(url: str, user: str, password: str) -> str:
    answer = httpx.post(
        f"{url}/_matrix/client/v3/login",
        json={"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
              "password": password}, timeout=TIMEOUT,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_old_new_old_on_one_database(releases: dict[str, object]) -> None:
    start = releases["start"]
    shared = releases["secrets"]
    assert callable(start) and isinstance(shared, Secrets)
    assert database_rule(Schema(94, 84), Schema(94, 84)) == "keeps"  # read from the wheels

    old = start(OLD)
    password = secrets.token_urlsafe(16)
    ada = register_user(old.url, shared.registration_shared_secret, "ada", password)
    canary_password = secrets.token_urlsafe(16)
    register_user(old.url, shared.registration_shared_secret, CANARY_LOCALPART, canary_password)
    canary = Canary(
        CANARY_LOCALPART, canary_password, _create_canary_room(old.url, canary_password)
    )
    headers = {"Authorization": f"Bearer {ada.access_token}"}
    room = httpx.post(
        f"{old.url}/_matrix/client/v3/createRoom",
        json={"name": "kept"},
        headers=headers,
        timeout=TIMEOUT,
    ).json()["room_id"]
    for n in range(3):
        httpx.put(
            f"{old.url}/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/t{n}",
            json={"msgtype": "m.text", "body": f"on {OLD} {n}"},
            headers=headers,
            timeout=TIMEOUT,
        ).raise_for_status()
    assert run_gate(GateTarget(old.url, OLD, False, canary), 30).ok
    old.stop()

    # Up, then back: the old release reads what the new one wrote (the rule said "keeps").
    for version in (NEW, OLD):
        server = start(version)
        verdict = run_gate(GateTarget(server.url, version, False, canary), 120)
        assert verdict.ok, f"{version}: {verdict.summary()}"
        token = _login(server.url, "ada", password)
        assert {f"on {OLD} {n}" for n in range(3)} <= set(_history(server.url, token, room))
        server.stop()
