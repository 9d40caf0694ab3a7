"""The health gate's decisions: a stand-in homeserver answers as Synapse does (paths,
bodies, the Server header), and each way it can fail fails the gate by name."""

from __future__ import annotations

import json
from typing import Any

import httpx

from wmx.ops.upgrade_gate import (
    Canary,
    GateTarget,
    Probe,
    decide,
    reported_version,
    run_gate,
)

ROOM = "!canary:wmx.test"


class FakeSynapse:
    def __init__(self, version: str = "1.163.2") -> None:
        self.version = version
        self.health = "OK"
        self.password = "pw"
        self.timeline: list[dict[str, Any]] = []
        self.drop_sent = False
        self.keys = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        headers = {"Server": f"Synapse/{self.version}"}
        if path == "/health":
            return httpx.Response(200 if self.health == "OK" else 502, text=self.health)
        if path == "/_matrix/client/versions":
            return httpx.Response(200, json={"versions": ["v1.11"]}, headers=headers)
        if path == "/_matrix/federation/v1/version":
            return httpx.Response(
                200, json={"server": {"name": "Synapse", "version": self.version}}
            )
        if path == "/_matrix/key/v2/server":
            keys = {"ed25519:a": {"key": "x"}} if self.keys else {}
            return httpx.Response(200, json={"verify_keys": keys})
        if path == "/_matrix/client/v3/login":
            ok = json.loads(request.content)["password"] == self.password
            return httpx.Response(200, json={"access_token": "t"}) if ok else httpx.Response(403)
        if "/send/" in path:
            if not self.drop_sent:
                self.timeline.append({"content": json.loads(request.content)})
            return httpx.Response(200, json={"event_id": "$e"})
        if path == "/_matrix/client/v3/sync":
            room = {"timeline": {"events": self.timeline}}
            return httpx.Response(200, json={"rooms": {"join": {ROOM: room}}})
        if path == "/_matrix/client/v3/logout":
            return httpx.Response(200, json={})
        return httpx.Response(404)


def _gate(fake: FakeSynapse, expect: str = "1.163.2", federation: bool = True, **extra: Any) -> Any:
    target = GateTarget("http://synapse", expect, federation, Canary("wmx-canary", "pw", ROOM))
    for key, value in extra.items():
        setattr(target, key, value)
    return run_gate(target, 0.0, sleep=lambda _s: None, transport=httpx.MockTransport(fake))


def test_a_healthy_server_on_the_new_release_passes() -> None:
    verdict = _gate(FakeSynapse())
    assert verdict.ok, verdict.summary()
    assert verdict.ready_s is not None and verdict.ready_s >= 0
    assert [p.name for p in verdict.probes] == ["health", "client", "version", "keys", "canary"]


def test_the_old_release_still_running_fails_the_version_check() -> None:
    verdict = _gate(FakeSynapse("1.160.0"))
    assert verdict.failed == ("version",)
    assert "reports 1.160.0 (expected 1.163.2)" in verdict.summary()


def test_without_federation_the_server_header_tells_the_version() -> None:
    verdict = _gate(FakeSynapse(), federation=False)
    assert verdict.ok and "keys" not in [p.name for p in verdict.probes]


def test_no_health_within_the_time_limit_fails_at_once() -> None:
    fake = FakeSynapse()
    fake.health = "starting"
    verdict = _gate(fake)
    assert verdict.failed[0] == "health"
    # The checks that could not run count as failed, not as passed.
    assert {"client", "version", "canary"} <= set(verdict.failed)


def test_canary_failures() -> None:
    fake = FakeSynapse()
    fake.password = "other"
    assert _gate(fake).failed == ("canary",)
    lost = FakeSynapse()
    lost.drop_sent = True
    verdict = _gate(lost)
    assert verdict.failed == ("canary",) and "not in /sync" in verdict.summary()


def test_missing_keys_and_a_silent_bridge_fail() -> None:
    fake = FakeSynapse()
    fake.keys = False
    assert _gate(fake).failed == ("keys",)
    verdict = _gate(FakeSynapse(), irc_ping=lambda: (False, "HTTP 502"))
    assert verdict.failed == ("irc_bridge",)


def test_decide_and_reported_version() -> None:
    assert not decide([Probe("health", True, "OK")]).ok  # required checks missing
    assert reported_version({"server": {"version": "1.163.2 (b=x)"}}, None) == "1.163.2"
    assert reported_version(None, "Synapse/1.160.0") == "1.160.0"
    assert reported_version(None, "nginx") is None
