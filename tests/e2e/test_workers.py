"""Synapse's workers across three lab hosts (docs/workers.md): PostgreSQL on lab2, the main
process, Redis and nginx on lab3, the workers of the `small` preset on lab4 (inventory
group `synapse_workers`) but the media worker, which stays with the media store on lab3.

A client's login and sends are served by the client worker and its /sync by the sync
worker on lab4, an upload by the media worker on lab3 (each worker's own access log says
so); restarting each worker in turn while messages are sent loses none of them; `wmx
status` lists each worker on its host; Redis and the replication listener answer the
worker host, with their secrets, and refuse everyone else. Federation through the sender
worker is not exercised here (docs/workers.md says so). Budget: one three-host deploy
(or a snapshot of it) and about a minute of tests.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.clients import create_account, https, password_login, wait_until
from tests.e2e.conftest import TRANSCRIPT, drop_groups, new_site, wait_for_homeserver, wmx
from tests.e2e.deployments import Recipe, deployed_site
from wmx.components.synapse_workers import REDIS_PORT, REPLICATION_PORT
from wmx.lab import Lab
from wmx.site import Site, load_site
from wmx.site.yamlfile import dump_document, load_document, write_atomically

pytestmark = pytest.mark.timeout(1200)

# The first host gets the site's names (the proxy), as `wmx lab up --on` orders them.
HOMESERVER, DATABASE, WORKERS = "lab3", "lab2", "lab4"
SERVER_NAME = "workers.test"
SETTINGS = {
    "synapse.workers.preset": "small",
    "backup.enabled": "false",
    # Every test client logs in from the lab bridge's one address.
    "synapse.login_rate_limit.burst_count": "200",
}
ON_WORKER_HOST = ("sync1", "client1", "federation-sender1", "background1")
ON_HOMESERVER = ("media1",)

WORKERS_SITE = Recipe(
    name="workers",
    hosts=(HOMESERVER, DATABASE, WORKERS),
    described_in=__file__,
    details={"server_name": SERVER_NAME, "settings": SETTINGS},
)


def _place(root: Path) -> None:
    """The three-host layout: the database on its own host, the workers on theirs."""
    drop_groups(root, "monitoring", "irc_bridge", "turn", "element", "backup")
    inventory = root / "inventory.yml"
    document = load_document(inventory)
    children = document["all"]["children"]
    children["database"] = {"hosts": {DATABASE: None}}
    children["synapse_workers"] = {"hosts": {WORKERS: None}}
    write_atomically(inventory, dump_document(document))


def _first_deploy(lab: Lab, root: Path) -> subprocess.CompletedProcess[str]:
    new_site(root, SERVER_NAME, SETTINGS)
    for host in WORKERS_SITE.hosts:
        lab.remove(host)
    hosts = [a for h in WORKERS_SITE.hosts for a in ("--on", h)]
    wmx("lab", "up", "--hosts", "4", "--site", str(root), *hosts)
    _place(root)
    return wmx("deploy", site=root)


@dataclass
class Rig:
    lab: Lab
    root: Path
    trust: str
    url: str
    token: str = field(default="", repr=False)
    room: str = ""

    @property
    def site(self) -> Site:
        return load_site(self.root)

    def address(self, host: str) -> str:
        return next(h.address for h in self.site.topology.hosts if h.name == host)

    def send(self, http: httpx.Client, body: str) -> None:
        txn = secrets.token_hex(8)
        sent = http.put(
            f"{self.url}/_matrix/client/v3/rooms/{quote(self.room)}/send/m.room.message/{txn}",
            json={"msgtype": "m.text", "body": body},
        )
        assert sent.status_code == 200, f"send {body!r}: {sent.status_code} {sent.text}"

    def timeline(self, http: httpx.Client) -> list[str]:
        """The room's message bodies from an initial /sync (the sync worker)."""
        room_filter = json.dumps({"room": {"rooms": [self.room], "timeline": {"limit": 100}}})
        page = http.get(
            f"{self.url}/_matrix/client/v3/sync", params={"timeout": 0, "filter": room_filter}
        )
        assert page.status_code == 200, page.text
        joined = page.json().get("rooms", {}).get("join", {}).get(self.room, {})
        return [e["content"].get("body", "") for e in joined.get("timeline", {}).get("events", [])]


@pytest.fixture(scope="module")
def rig(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root = tmp_path_factory.mktemp("sites") / "workers"
    url = f"https://matrix.{SERVER_NAME}"
    deployment = deployed_site(
        WORKERS_SITE,
        lab,
        root,
        lambda r: _first_deploy(lab, r),
        on_restore=lambda _: wait_for_homeserver(url, lab.trust_bundle_path),
    )
    TRANSCRIPT.append(deployment.first_deploy.stdout + deployment.first_deploy.stderr)
    rig = Rig(lab, root, str(lab.trust_bundle_path), url)
    account = create_account(rig.site, "workers-e2e", unique=True)
    with https(rig.trust) as http:
        login = password_login(http, url, account.localpart, account.password)
        assert login.status_code == 200, login.text
        rig.token = login.json()["access_token"]
        http.headers["Authorization"] = f"Bearer {rig.token}"
        created = http.post(f"{url}/_matrix/client/v3/createRoom", json={})
        assert created.status_code == 200, created.text
        rig.room = created.json()["room_id"]
    yield rig


def _client(rig: Rig) -> httpx.Client:
    http = https(rig.trust)
    http.headers["Authorization"] = f"Bearer {rig.token}"
    return http


def _served_by(rig: Rig, host: str, worker: str, path: str) -> bool:
    """Whether the worker's own access log (its journal on its host) has a request for
    `path`."""
    log = rig.lab.run(
        host,
        ["journalctl", "-u", f"matrix-synapse-worker@{worker}", "--no-pager", "-o", "cat"],
        check=False,
    ).stdout
    return any("Processed request" in line and path in line for line in log.splitlines())


def test_status_lists_each_worker_on_its_host(rig: Rig) -> None:
    status = json.loads(wmx("status", "-o", "json", site=rig.root, check=False).stdout)
    units = {h["name"]: {s["unit"]: s["state"] for s in h["services"]} for h in status["hosts"]}
    for worker in ON_WORKER_HOST:
        assert units[WORKERS][f"matrix-synapse-worker@{worker}.service"] == "active", units
    for worker in ON_HOMESERVER:
        assert units[HOMESERVER][f"matrix-synapse-worker@{worker}.service"] == "active", units
    assert units[HOMESERVER]["redis-server.service"] == "active"
    assert units[HOMESERVER]["matrix-synapse.service"] == "active"
    # The worker host runs workers only: no main process, no Redis.
    assert not any(u.startswith(("matrix-synapse.", "redis")) for u in units[WORKERS]), units
    assert "postgresql" in "".join(units[DATABASE])


def test_login_send_and_sync_are_served_by_the_workers_on_their_host(rig: Rig) -> None:
    marker = f"through the workers {secrets.token_hex(4)}"
    with _client(rig) as http:
        rig.send(http, marker)
        wait_until(lambda: marker in rig.timeline(http), "the message in /sync")
    assert _served_by(rig, WORKERS, "client1", "/_matrix/client/v3/login")
    assert _served_by(rig, WORKERS, "client1", "/send/m.room.message/")
    assert _served_by(rig, WORKERS, "sync1", "/_matrix/client/v3/sync")
    # …and not by the main process, whose journal logs its requests the same way.
    main = rig.lab.run(
        HOMESERVER, ["journalctl", "-u", "matrix-synapse", "--no-pager", "-o", "cat"]
    ).stdout
    assert not any("Processed request" in ln and "/v3/sync" in ln for ln in main.splitlines())


def test_media_goes_through_the_media_worker(rig: Rig) -> None:
    content = b"\x89PNG workers " + secrets.token_bytes(8)
    with _client(rig) as http:
        upload = http.post(
            f"{rig.url}/_matrix/media/v3/upload",
            content=content,
            headers={"Content-Type": "image/png"},
        )
        assert upload.status_code == 200, upload.text
        server, media_id = upload.json()["content_uri"].removeprefix("mxc://").split("/")
        download = http.get(f"{rig.url}/_matrix/client/v1/media/download/{server}/{media_id}")
        assert download.status_code == 200 and download.content == content
    assert _served_by(rig, HOMESERVER, "media1", "/_matrix/media/v3/upload")
    assert _served_by(rig, HOMESERVER, "media1", f"/media/download/{server}/{media_id}")


def _active(rig: Rig, host: str, worker: str) -> bool:
    unit = f"matrix-synapse-worker@{worker}.service"
    state = rig.lab.run(host, ["systemctl", "is-active", unit], check=False).stdout.strip()
    return state == "active"


def test_restarting_any_one_worker_loses_no_message(rig: Rig) -> None:
    tag = secrets.token_hex(4)
    sent: list[str] = []
    placed = [(WORKERS, w) for w in ON_WORKER_HOST] + [(HOMESERVER, w) for w in ON_HOMESERVER]
    with _client(rig) as http:
        for host, worker in placed:
            unit = f"matrix-synapse-worker@{worker}.service"
            rig.lab.run(host, ["systemctl", "restart", "--no-block", unit])
            # Sent while the worker restarts (nginx hands the client worker's requests
            # to the main process meanwhile).
            for n in (1, 2):
                body = f"{tag} during {worker} restart {n}"
                rig.send(http, body)
                sent.append(body)
            wait_until(partial(_active, rig, host, worker), f"{worker} active again")
        wait_until(
            lambda: set(sent) <= set(rig.timeline(http)),
            "every message sent during the restarts in /sync",
            timeout=120,
        )
        arrived = [b for b in rig.timeline(http) if b.startswith(tag)]
    assert arrived == sent  # each once, in the order sent


def _connect(address: str, port: int) -> None:
    """Open a TCP connection from this machine (outside the site) and close it."""
    with socket.create_connection((address, port), timeout=5):
        pass


STREAM_UPDATES = (
    "/_synapse/replication/get_repl_stream_updates/typing/e2e?from_token=0&upto_token=1"
)
PROBE = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(sys.argv[3].encode() + b"\\r\\n")
print(s.recv(256).decode(errors="replace"))
"""


def test_redis_and_replication_answer_the_worker_host_only_and_want_their_secrets(
    rig: Rig,
) -> None:
    homeserver = rig.address(HOMESERVER)
    # From the worker host: both reachable; Redis wants its password, the replication
    # listener the replication secret (Synapse fails a request without it with a 500;
    # tests/integration/test_workers.py shows the same request with it succeed).
    for port, request, answer in (
        (REDIS_PORT, "PING", "-NOAUTH"),
        (REPLICATION_PORT, f"GET {STREAM_UPDATES} HTTP/1.0\r\n", " 500 "),
    ):
        probe = ["python3", "-c", PROBE, homeserver, str(port), request]
        reply = rig.lab.run(WORKERS, probe, check=False)
        assert answer in reply.stdout, (port, reply.stdout, reply.stderr)
    # From outside the site (this machine, on the lab's network): refused or dropped;
    # the proxy's 443 on the same address answers it (the address is the right one).
    for port in (REDIS_PORT, REPLICATION_PORT):
        with pytest.raises(OSError):
            _connect(homeserver, port)
    _connect(homeserver, 443)
