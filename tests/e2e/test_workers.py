"""Synapse's workers on the deployed lab site (docs/workers.md): the shared site is
switched to the `small` preset with `wmx config set` and a deploy, a user's login, send,
sync and media upload are served by the workers (each worker's own access log says so),
`wmx status` lists them, `wmx bench` runs against one process and against the preset
and prints both figures; the site goes back to one process at the end, as the other
modules expect it. Budget: about five minutes of lab time (two deploys, two bench runs)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.e2e.clients import create_account, https, password_login
from tests.e2e.conftest import Deployed, wmx

BENCH = ["bench", "-u", "8", "-r", "2", "--rate", "10", "-d", "6", "-o", "json"]


def _bench(deployed: Deployed, site: Path) -> dict[str, Any]:
    result = wmx(*BENCH, "--ca-file", deployed.trust, site=site)
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def _ratios(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The issue's comparison, as figures (not asserted: a lab shares its machine)."""
    throughput = after["throughput_per_s"] / max(before["throughput_per_s"], 1e-9)
    p95_before, p95_after = before["latency_ms"]["p95"], after["latency_ms"]["p95"]
    p95 = p95_after / p95_before if p95_before and p95_after else float("nan")
    return f"small / one process: throughput x{throughput:.2f}, p95 latency x{p95:.2f}"


def _served_by(deployed: Deployed, worker: str, path: str) -> bool:
    """Whether the worker's access log (its journal) has a request for `path`."""
    log = deployed.lab.run(
        deployed.host,
        ["journalctl", "-u", f"matrix-synapse-worker@{worker}", "--no-pager", "-o", "cat"],
        check=False,
    ).stdout
    return any("Processed request" in line and path in line for line in log.splitlines())


def test_small_preset_serves_login_send_sync_and_media_through_workers(
    deployed: Deployed,
) -> None:
    site = deployed.site.paths.root
    one_process = _bench(deployed, site)
    wmx("config", "set", "synapse.workers.preset", "small", site=site)
    try:
        wmx("deploy", site=site)
        # Listing, not health: Prometheus scrapes the new workers only from its next round.
        status = wmx("status", "-o", "json", site=site, check=False).stdout
        assert '"synapse-workers"' in status and '"redis"' in status
        for worker in ("sync1", "client1", "federation-sender1", "media1", "background1"):
            assert f'"matrix-synapse-worker@{worker}.service"' in status
        account = create_account(deployed.site, "workers-e2e", unique=True)
        url = deployed.homeserver_url
        with https(deployed.trust) as http:
            login = password_login(http, url, account.user_id, account.password)
            assert login.status_code == 200, login.text
            http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            room = http.post(f"{url}/_matrix/client/v3/createRoom", json={}).json()["room_id"]
            marker = f"through the workers {secrets.token_hex(4)}"
            sent = http.put(
                f"{url}/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/w1",
                json={"msgtype": "m.text", "body": marker},
            )
            assert sent.status_code == 200, sent.text
            synced = http.get(f"{url}/_matrix/client/v3/sync", params={"timeout": 0})
            assert marker in synced.text
            upload = http.post(
                f"{url}/_matrix/media/v3/upload",
                content=b"\x89PNG workers",
                headers={"Content-Type": "image/png"},
            )
            assert upload.status_code == 200, upload.text
        assert _served_by(deployed, "client1", "/_matrix/client/v3/login")
        assert _served_by(deployed, "client1", "/send/m.room.message/w1")
        assert _served_by(deployed, "sync1", "/_matrix/client/v3/sync")
        assert _served_by(deployed, "media1", "/_matrix/media/v3/upload")
        small = _bench(deployed, site)
        print(json.dumps({"one_process": one_process, "small": small}, indent=2))
        print(_ratios(one_process, small))
        for figures in (one_process, small):
            assert figures["received"] == figures["sent"] == figures["messages"]
    finally:
        wmx("config", "set", "synapse.workers.preset", "none", site=site)
        wmx("deploy", site=site)
    assert '"synapse-workers"' not in wmx("status", "-o", "json", site=site, check=False).stdout
