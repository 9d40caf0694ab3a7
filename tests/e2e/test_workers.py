"""Synapse's workers across three lab hosts (docs/workers.md): PostgreSQL on lab2, the main
process, Redis and nginx on lab3, the workers of the `small` preset on lab4 (inventory
group `synapse_workers`) but the media worker, which stays with the media store on lab3.

A client's login and sends are served by the client worker and its /sync by the sync
worker on lab4, an upload by the media worker on lab3 (each worker's own access log says
so); restarting each worker in turn while messages are sent loses none of them; `wmx
status` lists each worker on its host; Redis and the replication listener answer the
worker host, with their secrets, and refuse everyone else.

Federation: a user of the shared site (wmx.test on lab1, conftest's `deployed`) joins a
room of workers.test by its alias; a message sent on workers.test reaches wmx.test, and
federation-sender1's metrics counted the transactions while the main process's count
none. Upgrade: the site is deployed on the older release wmx is tested with
(TESTED_SYNAPSE[0], as tests/e2e/test_upgrade.py); `wmx upgrade plan` lists both hosts
with their workers, `apply` moves the main process and every worker (each one's
`synapse_build_info` reports the new release, both hosts' links point at it) and
messages flow through the sync worker; `rollback` brings every process back.

Budget: one three-host deploy (or a snapshot of it), the shared site's, and a few
minutes of tests (the new release's install on two hosts is most of them).
"""

from __future__ import annotations

import json
import re
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

from tests.e2e.clients import authed, create_account, https, password_login, wait_until
from tests.e2e.conftest import (
    TRANSCRIPT,
    Deployed,
    drop_groups,
    new_site,
    wait_for_homeserver,
    wmx,
)
from tests.e2e.deployments import Recipe, deployed_site
from wmx.components.synapse import SYNAPSE_CURRENT_LINK, SYNAPSE_METRICS_PORT
from wmx.components.synapse_workers import REDIS_PORT, REPLICATION_PORT, plan_of
from wmx.lab import Lab
from wmx.ops.upgrade_plan import TESTED_SYNAPSE
from wmx.site import Site, load_site
from wmx.site.releases import DEFAULT_SYNAPSE_VERSION
from wmx.site.yamlfile import dump_document, load_document, write_atomically

pytestmark = pytest.mark.timeout(1200)

# The first host gets the site's names (the proxy), as `wmx lab up --on` orders them.
HOMESERVER, DATABASE, WORKERS = "lab3", "lab2", "lab4"
SERVER_NAME = "workers.test"
# Deployed on the older release wmx is tested with, then upgraded to the one it pins and
# rolled back (as tests/e2e/test_upgrade.py does on one host).
OLD, NEW = TESTED_SYNAPSE[0], DEFAULT_SYNAPSE_VERSION
SETTINGS = {
    "synapse.version": OLD,
    "synapse.workers.preset": "small",
    "backup.enabled": "false",
    # Every test client logs in from the lab bridge's one address.
    "synapse.login_rate_limit.burst_count": "200",
}
ON_WORKER_HOST = ("sync1", "client1", "federation-sender1", "background1")
ON_HOMESERVER = ("media1",)
PLACED = [(WORKERS, w) for w in ON_WORKER_HOST] + [(HOMESERVER, w) for w in ON_HOMESERVER]

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
    # Every worker running (Type=notify: listening) before the login that
    # test_login_send_… looks for in client1's journal: a client1 still (re)starting
    # leaves it to the main process (nginx's 502 fallback).
    for host, worker in PLACED:
        wait_until(partial(_active, rig, host, worker), f"{worker} active", timeout=180)
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


def _assert_served_by(rig: Rig, host: str, worker: str, path: str) -> None:
    """Fails unless the worker's own access log (its journal on its host) has a request
    for `path`, waiting a little: Synapse logs a request once its response is sent, and the
    journal takes the line from the worker's stderr in its own time (a busy lab host's
    journald had not yet written a login's line when one CI run asked)."""
    unit = f"matrix-synapse-worker@{worker}"

    def logged() -> bool:
        log = rig.lab.run(host, ["journalctl", "-u", unit, "--no-pager", "-o", "cat"]).stdout
        served = [ln for ln in log.splitlines() if "Processed request" in ln]
        assert any(path in ln for ln in served), (
            f"{len(served)} requests in {unit}'s journal on {host}, none for {path}; "
            f"the last: {served[-3:]}"
        )
        return True

    wait_until(logged, f"{path} in {worker}'s access log on {host}", timeout=30)


def test_status_lists_each_worker_on_its_host(rig: Rig) -> None:
    def listed() -> bool:
        status = json.loads(wmx("status", "-o", "json", site=rig.root, check=False).stdout)
        units = {h["name"]: {s["unit"]: s["state"] for s in h["services"]} for h in status["hosts"]}
        # The worker host runs workers only: no main process, no Redis.
        assert not any(u.startswith(("matrix-synapse.", "redis")) for u in units[WORKERS]), units
        assert "postgresql" in "".join(units[DATABASE])
        # Each worker on its host, running: once (a CI run right after the first deploy)
        # the federation sender was still "activating", so the state is asked again.
        for worker in ON_WORKER_HOST:
            assert units[WORKERS][f"matrix-synapse-worker@{worker}.service"] == "active", units
        for worker in ON_HOMESERVER:
            assert units[HOMESERVER][f"matrix-synapse-worker@{worker}.service"] == "active", units
        assert units[HOMESERVER]["redis-server.service"] == "active"
        assert units[HOMESERVER]["matrix-synapse.service"] == "active"
        return True

    wait_until(listed, "every worker active in `wmx status`", timeout=90, every=5)


def test_login_send_and_sync_are_served_by_the_workers_on_their_host(rig: Rig) -> None:
    marker = f"through the workers {secrets.token_hex(4)}"
    with _client(rig) as http:
        rig.send(http, marker)
        wait_until(lambda: marker in rig.timeline(http), "the message in /sync")
    _assert_served_by(rig, WORKERS, "client1", "/_matrix/client/v3/login")
    _assert_served_by(rig, WORKERS, "client1", "/send/m.room.message/")
    _assert_served_by(rig, WORKERS, "sync1", "/_matrix/client/v3/sync")
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
    _assert_served_by(rig, HOMESERVER, "media1", "/_matrix/media/v3/upload")
    _assert_served_by(rig, HOMESERVER, "media1", f"/media/download/{server}/{media_id}")


def _active(rig: Rig, host: str, worker: str) -> bool:
    unit = f"matrix-synapse-worker@{worker}.service"
    state = rig.lab.run(host, ["systemctl", "is-active", unit], check=False).stdout.strip()
    return state == "active"


def test_restarting_any_one_worker_loses_no_message(rig: Rig) -> None:
    tag = secrets.token_hex(4)
    sent: list[str] = []
    with _client(rig) as http:
        for host, worker in PLACED:
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


# --- federation through the sender worker ---------------------------------------------

READ_METRICS = (
    "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())"
)
SENT_TRANSACTIONS = "synapse_federation_client_sent_transactions_total"
SENT_PDUS = "synapse_federation_client_sent_pdu_destinations_total"


def _metrics(rig: Rig, host: str, port: int) -> str:
    """A Synapse process's metrics, read on its host (the listener is on loopback)."""
    url = f"http://127.0.0.1:{port}/_synapse/metrics"
    return rig.lab.run(host, ["python3", "-c", READ_METRICS, url]).stdout


def _sample(text: str, name: str) -> float:
    """The sum of a metric's samples (0 when the process has none: never counted)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.split("{", 1)[0].split(" ", 1)[0] == name
    )


def _worker(rig: Rig, name: str) -> tuple[str, int]:
    """(host, metrics port) of a worker, as the site's plan places it."""
    worker = next(w for w in plan_of(rig.site).workers if w.name == name)
    return worker.host.name, worker.metrics_port


def test_federation_goes_through_the_sender_worker(rig: Rig, deployed: Deployed) -> None:
    """A message of a workers.test user reaches a wmx.test user (the shared site on lab1):
    federation-sender1 on lab4 sent the transactions, the main process none."""
    # Both sites' names on every host, lab1 included (it may have been made after them).
    rig.lab.set_names({SERVER_NAME: HOMESERVER, f"matrix.{SERVER_NAME}": HOMESERVER})
    sender_host, sender_port = _worker(rig, "federation-sender1")
    assert sender_host == WORKERS
    sender_before = _sample(_metrics(rig, sender_host, sender_port), SENT_TRANSACTIONS)
    guest = create_account(deployed.site, "from-wmx", unique=True)
    there = deployed.homeserver_url
    alias = f"workers-fed-{secrets.token_hex(3)}"
    with _client(rig) as http:
        made = http.post(
            f"{rig.url}/_matrix/client/v3/createRoom",
            json={"preset": "public_chat", "room_alias_name": alias},
        )
        assert made.status_code == 200, made.text
        room = made.json()["room_id"]
        # wmx.test joins over federation (make_join/send_join to workers.test).
        joined = http.post(
            f"{there}/_matrix/client/v3/join/{quote(f'#{alias}:{SERVER_NAME}')}",
            headers=authed(guest.access_token),
            timeout=180,
        )
        assert joined.status_code == 200, joined.text
        body = f"from the workers site {secrets.token_hex(4)}"
        sent = http.put(
            f"{rig.url}/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/"
            f"{secrets.token_hex(8)}",
            json={"msgtype": "m.text", "body": body},
        )
        assert sent.status_code == 200, sent.text
        event_id = sent.json()["event_id"]

        def arrived() -> bool:
            seen = http.get(
                f"{there}/_matrix/client/v3/rooms/{quote(room)}/event/{quote(event_id)}",
                headers=authed(guest.access_token),
            )
            return seen.status_code == 200 and seen.json()["content"]["body"] == body

        wait_until(arrived, "the message to reach wmx.test", timeout=120)

    def counted() -> bool:
        now = _sample(_metrics(rig, sender_host, sender_port), SENT_TRANSACTIONS)
        return now > sender_before

    # The sender counts a transaction when wmx.test's 200 comes back, a moment after
    # wmx.test stored (and serves) the event.
    wait_until(counted, "federation-sender1 to count the transaction", timeout=30)
    sender = _metrics(rig, sender_host, sender_port)
    main = _metrics(rig, HOMESERVER, SYNAPSE_METRICS_PORT)
    assert _sample(sender, SENT_PDUS) > 0
    # The main process sends no federation transaction at all (nor queues a PDU).
    assert _sample(main, SENT_TRANSACTIONS) == 0 and _sample(main, SENT_PDUS) == 0
    assert "synapse_build_info" in main  # the main process's metrics were read indeed


# --- wmx upgrade moves every worker ------------------------------------------------------


def _versions(rig: Rig) -> dict[str, str]:
    """The release each Synapse process reports (synapse_build_info), by name."""
    out = {"main": _build(_metrics(rig, HOMESERVER, SYNAPSE_METRICS_PORT))}
    for worker in plan_of(rig.site).workers:
        out[worker.name] = _build(_metrics(rig, worker.host.name, worker.metrics_port))
    return out


def _build(text: str) -> str:
    line = next(ln for ln in text.splitlines() if ln.startswith("synapse_build_info{"))
    found = re.search(r'[{,]version="([^"]+)"', line)
    assert found, line
    return found.group(1)


def _links(rig: Rig) -> dict[str, str]:
    return {
        host: rig.lab.run(host, ["readlink", SYNAPSE_CURRENT_LINK]).stdout.strip()
        for host in (HOMESERVER, WORKERS)
    }


def _syncs_served(rig: Rig) -> int:
    log = rig.lab.run(
        WORKERS,
        ["journalctl", "-u", "matrix-synapse-worker@sync1", "--no-pager", "-o", "cat"],
        check=False,
    ).stdout
    return sum("Processed request" in ln and "/v3/sync" in ln for ln in log.splitlines())


def _flows_through_the_sync_worker(rig: Rig, what: str) -> None:
    before = _syncs_served(rig)
    marker = f"{what} {secrets.token_hex(4)}"
    with _client(rig) as http:
        rig.send(http, marker)
        wait_until(lambda: marker in rig.timeline(http), f"the message {what} in /sync")
    # sync1 logs the request once answered, and journald takes it in its own time (as
    # _assert_served_by waits for).
    wait_until(lambda: _syncs_served(rig) > before, f"a /sync {what} in sync1's journal", 30)


def test_upgrade_moves_every_worker_and_rollback_brings_all_back(rig: Rig) -> None:
    everyone = {"main", *(w.name for w in plan_of(rig.site).workers)}
    assert _versions(rig) == dict.fromkeys(everyone, OLD)
    plan = wmx("upgrade", "plan", "--component", "synapse", "--to", NEW, site=rig.root)
    assert f"{HOMESERVER}: media1; {WORKERS}: sync1, client1, federation-sender1, background1" in (
        " ".join(plan.stdout.split())
    ), plan.stdout
    applied = wmx("upgrade", "apply", "--to", NEW, site=rig.root, check=False)
    TRANSCRIPT.append(applied.stdout + applied.stderr)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # The release installed on both hosts.
    assert f"on {HOMESERVER}, {WORKERS}" in " ".join(applied.stderr.split())
    assert _versions(rig) == dict.fromkeys(everyone, NEW)
    assert _links(rig) == dict.fromkeys((HOMESERVER, WORKERS), f"/opt/synapse/venvs/{NEW}")
    _flows_through_the_sync_worker(rig, "after the upgrade")
    status = json.loads(wmx("status", "-o", "json", site=rig.root, check=False).stdout)
    assert status["last_upgrade"]["status"] == "applied"

    back = wmx("upgrade", "rollback", "--yes", site=rig.root, check=False)
    TRANSCRIPT.append(back.stdout + back.stderr)
    assert back.returncode == 0, back.stdout + back.stderr
    assert _versions(rig) == dict.fromkeys(everyone, OLD)
    assert _links(rig) == dict.fromkeys((HOMESERVER, WORKERS), f"/opt/synapse/venvs/{OLD}")
    _flows_through_the_sync_worker(rig, "after the rollback")
    assert load_site(rig.root).config.synapse.version == OLD
