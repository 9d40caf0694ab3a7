"""The health gate after a switch: does the homeserver serve its users on the new release?

Each check is a function of Synapse's loopback listener (reached through the SSH tunnel)
that returns a `Probe`; `decide` turns the probes into the verdict (pure: tested in
tests/unit/test_upgrade_gate.py). The checks, in order:
- health: /health answers OK (polled until the deadline: the first start after an
  upgrade runs the schema migrations);
- client: /_matrix/client/versions answers;
- version: the server reports the expected release (/_matrix/federation/v1/version when
  federation is on, else the `Server` header Synapse sets on every answer);
- keys: /_matrix/key/v2/server answers with the server's keys (federation on);
- canary: the canary account logs in, sends to its room and reads it back through /sync;
- irc_bridge: Synapse pings the bridge (when the site has one);
- monitoring: Prometheus scraped the Synapse target after the gate began, and it was up
  (when the site has monitoring): what the site's own alerting sees.
"""

from __future__ import annotations

import json
import secrets as csprng
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

CANARY_LOCALPART = "wmx-canary"
HEALTH_POLL = 1.0
MONITORING_WAIT = 45.0  # seconds: two scrapes at the default scrape_interval, and some


@dataclass(frozen=True)
class Probe:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    failed: tuple[str, ...]
    probes: tuple[Probe, ...]
    ready_s: float | None = None  # from the gate's start until /health answered OK

    def summary(self) -> str:
        if self.ok:
            return "every check passed"
        return "; ".join(f"{p.name}: {p.detail}" for p in self.probes if not p.ok)


REQUIRED = ("health", "client", "version", "canary")


def decide(probes: list[Probe], ready_s: float | None = None) -> Verdict:
    """Pass when every probe passed and none of the required ones is missing."""
    names = {p.name for p in probes}
    missing = [Probe(n, False, "not checked") for n in REQUIRED if n not in names]
    every = (*probes, *missing)
    failed = tuple(p.name for p in every if not p.ok)
    return Verdict(ok=not failed, failed=failed, probes=every, ready_s=ready_s)


def reported_version(body: dict[str, Any] | None, server_header: str | None) -> str | None:
    """The release from the federation version answer, else from `Server: Synapse/X`."""
    if body:
        server = body.get("server")
        if isinstance(server, dict) and server.get("version"):
            return str(server["version"]).split(" ")[0]
    if server_header and server_header.startswith("Synapse/"):
        return server_header.split("/", 1)[1].split(" ")[0]
    return None


@dataclass(frozen=True)
class Canary:
    user: str  # localpart
    password: str
    room_id: str | None = None


@dataclass
class GateTarget:
    base_url: str
    expect_version: str
    federation: bool
    canary: Canary | None
    irc_ping: Callable[[], tuple[bool, str]] | None = None
    # Prometheus' API (through a tunnel) and its basic auth, when the site has monitoring.
    prometheus: str | None = None
    prometheus_auth: httpx.Auth | None = None
    synapse_job: str = "master"
    monitoring_wait: float = MONITORING_WAIT  # at least two of the site's scrape intervals


def _health(client: httpx.Client, deadline: float, sleep: Callable[[float], None]) -> Probe:
    last = "no answer"
    while True:
        try:
            response = client.get("/health")
            if response.status_code == 200 and response.text.strip() == "OK":
                return Probe("health", True, "OK")
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        if time.monotonic() >= deadline:
            return Probe("health", False, f"no OK before the time limit ({last})")
        sleep(HEALTH_POLL)


def _version(client: httpx.Client, target: GateTarget) -> tuple[Probe, Probe]:
    try:
        response = client.get("/_matrix/client/versions")
        versions = response.json().get("versions") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return Probe("client", False, "no answer"), Probe("version", False, "not read")
    if not versions:
        client_probe = Probe("client", False, f"HTTP {response.status_code}")
    else:
        client_probe = Probe("client", True, f"{len(versions)} spec versions")
    body = None
    if target.federation:
        try:
            fed = client.get("/_matrix/federation/v1/version")
            body = fed.json() if fed.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            body = None
    found = reported_version(body, response.headers.get("server"))
    ok = found == target.expect_version
    return client_probe, Probe(
        "version", ok, f"reports {found or 'nothing'} (expected {target.expect_version})"
    )


def _keys(client: httpx.Client) -> Probe:
    try:
        response = client.get("/_matrix/key/v2/server")
        keys = response.json().get("verify_keys") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return Probe("keys", False, "no answer")
    if not keys:
        return Probe("keys", False, f"HTTP {response.status_code}, no verify_keys")
    return Probe("keys", True, f"{len(keys)} signing key(s)")


def canary_round_trip(client: httpx.Client, canary: Canary) -> Probe:
    """Log in, send a nonce to the canary room, read it back through /sync, log out."""
    login = client.post(
        "/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": canary.user},
            "password": canary.password,
            "initial_device_display_name": "wmx upgrade canary",
        },
    )
    if login.status_code != 200:
        return Probe("canary", False, f"login refused (HTTP {login.status_code})")
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    try:
        room = canary.room_id
        if room is None:
            return Probe("canary", False, "no canary room")
        nonce = csprng.token_hex(8)
        txn = f"wmx-{nonce}"
        sent = client.put(
            f"/_matrix/client/v3/rooms/{quote(room, safe='')}/send/m.room.message/{txn}",
            json={"msgtype": "m.notice", "body": f"wmx upgrade canary {nonce}"},
            headers=headers,
        )
        if sent.status_code != 200:
            return Probe("canary", False, f"send refused (HTTP {sent.status_code})")
        sync_filter = json.dumps({"room": {"rooms": [room], "timeline": {"limit": 10}}})
        synced = client.get(
            "/_matrix/client/v3/sync",
            params={"filter": sync_filter, "timeout": "0"},
            headers=headers,
        )
        events = (
            synced.json().get("rooms", {}).get("join", {}).get(room, {}).get("timeline", {})
            if synced.status_code == 200
            else {}
        ).get("events", [])
        if any(e.get("content", {}).get("body", "").endswith(nonce) for e in events):
            return Probe("canary", True, "logged in, sent and read back through /sync")
        return Probe("canary", False, "the message sent was not in /sync")
    finally:
        client.post("/_matrix/client/v3/logout", headers=headers)


def _prometheus_value(client: httpx.Client, url: str, query: str) -> float | None:
    response = client.get(f"{url}/api/v1/query", params={"query": query})
    response.raise_for_status()
    data = response.json()["data"]
    if data["resultType"] == "scalar":  # [time, "value"]
        return float(data["result"][1])
    result = data["result"]  # a vector: [{metric, value: [time, "value"]}, …]
    return float(result[0]["value"][1]) if result else None


def monitoring_probe(
    target: GateTarget,
    deadline: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> Probe:
    """Prometheus' own view: the Synapse target scraped after this check began (its time,
    by Prometheus' clock), and up. Polled until the deadline (a scrape interval or two)."""
    assert target.prometheus is not None
    series = f'up{{job="{target.synapse_job}"}}'
    last = "no answer"
    with httpx.Client(timeout=15.0, auth=target.prometheus_auth, transport=transport) as client:
        since: float | None = None
        while True:
            try:
                if since is None:
                    since = _prometheus_value(client, target.prometheus, "time()")
                scraped = _prometheus_value(client, target.prometheus, f"timestamp({series})")
                up = _prometheus_value(client, target.prometheus, series)
                if scraped is None or up is None:
                    last = f"Prometheus has no {series}"
                elif since is not None and scraped <= since:
                    last = "no scrape of the Synapse target since the gate began"
                elif up == 1:
                    return Probe("monitoring", True, "Prometheus scraped the Synapse target: up")
                else:
                    last = "Prometheus scraped the Synapse target: down"
            except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
                last = f"Prometheus: {type(exc).__name__}"
            if time.monotonic() >= deadline:
                return Probe("monitoring", False, last)
            sleep(HEALTH_POLL * 2)


def run_gate(
    target: GateTarget,
    timeout: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> Verdict:
    started = time.monotonic()
    deadline = started + timeout
    probes: list[Probe] = []
    with httpx.Client(base_url=target.base_url, timeout=20.0, transport=transport) as client:
        health = _health(client, deadline, sleep)
        probes.append(health)
        if not health.ok:
            return decide(probes)
        ready = time.monotonic() - started
        probes.extend(_version(client, target))
        if target.federation:
            probes.append(_keys(client))
        if target.canary is not None:
            try:
                probes.append(canary_round_trip(client, target.canary))
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                probes.append(Probe("canary", False, type(exc).__name__))
        else:
            probes.append(Probe("canary", False, "no canary account"))
    if target.irc_ping is not None:
        up, detail = target.irc_ping()
        probes.append(Probe("irc_bridge", up, detail))
    if target.prometheus is not None:
        # At least two scrape intervals of its own, however late the gate is.
        probes.append(
            monitoring_probe(
                target,
                max(deadline, time.monotonic() + target.monitoring_wait),
                sleep=sleep,
                transport=transport,
            )
        )
    return decide(probes, ready)
