"""Synapse's workers as wmx plans them (wmx/components/synapse_workers.py), run for real on
loopback: PostgreSQL and Redis of their own, the main process with the shared settings
the plan adds to homeserver.yaml, and a sync and a client worker with the settings the
synapse_workers role writes. A message sent through the client worker reaches /sync on
the sync worker (the replication stream through Redis), and `wmx bench` times messages
through a worker."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import answers, require_tool
from tests.e2e.clients import wait_until
from tests.integration import synapse_server
from tests.integration.postgres_cluster import AS_POSTGRES, private_cluster, run_checked
from tests.integration.processes import wait_serving
from tests.integration.synapse_server import CACHE as SYNAPSE_CACHE
from tests.integration.synapse_server import (
    SERVER_NAME,
    cached_venv,
    free_port,
    free_ports,
    log_tail,
    start_synapse,
)
from wmx.admin.registration import register_user
from wmx.components.synapse_workers import (
    Ports,
    Worker,
    WorkerPlan,
    redis_settings,
    worker_plan,
)
from wmx.site import load_site
from wmx.site.init import init_site
from wmx.site.releases import DEFAULT_SYNAPSE_VERSION
from wmx.site.settings.workers import WorkerSettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _workers_python() -> Path:
    """A Synapse venv of its own with the extras workers need (postgres, redis), as the
    synapse role makes on a host; built once beside the shared test venv."""
    return cached_venv(
        SYNAPSE_CACHE,
        f"{DEFAULT_SYNAPSE_VERSION}-workers",
        f"matrix-synapse[postgres,redis]=={DEFAULT_SYNAPSE_VERSION}",
        "synapse, psycopg2, txredisapi, hiredis",
    )


@pytest.fixture
def postgres() -> Iterator[str]:
    """A private PostgreSQL cluster with Synapse's database; yields its socket directory."""
    with private_cluster("wmx-workers-pg-", "max_connections=100") as (root, env):
        run_checked([*AS_POSTGRES, "createuser", "synapse"], env)
        createdb = ["createdb", "-O", "synapse", "-T", "template0", "-E", "UTF8", "synapse"]
        run_checked([*AS_POSTGRES, *createdb], env)
        yield str(root)


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return init_site(tmp_path / "site", answers(SERVER_NAME)).root


@pytest.fixture
def redis(site_dir: Path, tmp_path: Path) -> Iterator[int]:
    """Redis on loopback with the site's password, as the redis role configures it (the
    settings on standard input: the password on no command line)."""
    require_tool("redis-server")
    port = free_port()
    password = load_site(site_dir).secrets.redis_password
    settings = (
        f'port {port}\nbind 127.0.0.1\nrequirepass {password}\nsave ""\n'
        "appendonly no\ndaemonize no\n"
    )
    # Its output to a file: a redis-server that exits (such as "Address already in use")
    # says why in the failure.
    log = tmp_path / "redis.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["redis-server", "-"], stdin=subprocess.PIPE, stdout=output,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(settings)
    process.stdin.close()
    try:
        ping = ["redis-cli", "--no-auth-warning", "-p", str(port), "ping"]
        auth = {"REDISCLI_AUTH": password, "PATH": "/usr/bin:/bin"}

        def answers() -> bool:
            done = subprocess.run(ping, capture_output=True, text=True, env=auth)
            return done.stdout.strip() == "PONG"

        wait_serving(
            process,
            answers,
            "redis-server to answer PING with its password",
            lambda: f"redis-server's output ends:\n{log_tail(log)}",
        )
        anonymous = subprocess.run(ping, capture_output=True, text=True).stdout
        assert "NOAUTH" in anonymous, anonymous
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for_worker(
    deployment: Deployment, worker: Worker, process: subprocess.Popen[bytes], logs: Path
) -> None:
    """Wait for a worker's /health; a worker that exits fails the wait at once. Either
    failure tells apart the causes: the worker's own log (why it did not come up), the
    main process's (it died, or is still starting) and who holds the worker's port."""

    def diagnose() -> str:
        port = ["ss", "-tanp", f"sport = :{worker.port}"]
        holders = subprocess.run(port, capture_output=True, text=True).stdout
        return (
            f"worker {worker.name}'s log ends:\n{log_tail(logs / f'{worker.name}.log')}\n"
            f"the main process's log ends:\n{deployment.main.log_tail(60)}\n"
            f"sockets on port {worker.port}:\n{holders}"
        )

    url = deployment.url(worker.name)
    what = f"worker {worker.name} to answer /health"
    wait_serving(process, lambda: _answers(url), what, diagnose)


@dataclass
class Deployment:
    main: synapse_server.TestSynapse
    plan: WorkerPlan
    site_dir: Path
    processes: list[subprocess.Popen[bytes]]

    def url(self, name: str) -> str:
        worker = next(w for w in self.plan.workers if w.name == name)
        return f"http://127.0.0.1:{worker.port}"


@pytest.fixture
def deployment(tmp_path: Path, site_dir: Path, postgres: str, redis: int) -> Iterator[Deployment]:
    python = _workers_python()
    # The plan numbers each worker's ports from a base: one block holds both workers' HTTP
    # and metrics ports, all of them free (a neighbour of a single free port may not be).
    base = free_ports(4)
    ports = Ports(replication=free_port(), first_http=base, first_metrics=base + 2, redis=redis)
    plan = worker_plan(WorkerSettings(sync=1, client=1), ports=ports)
    assert len(plan.workers) == 2, plan.workers
    site = load_site(site_dir)

    def adjust(settings: dict[str, Any]) -> None:
        # What the synapse template adds with workers: the replication listener, the
        # shared worker settings; and PostgreSQL, which workers need.
        settings["database"] = {
            "name": "psycopg2",
            "args": {"user": "synapse", "dbname": "synapse", "host": postgres,
                     "cp_min": 1, "cp_max": 5},
        }  # fmt: skip
        settings["listeners"].append(
            {"port": plan.replication_port, "type": "http", "bind_addresses": ["127.0.0.1"],
             "resources": [{"names": ["replication"]}]}
        )  # fmt: skip
        settings.update(plan.shared)
        # conf.d/secrets.yaml's part: Redis with its password, the replication secret.
        settings["redis"] = redis_settings(plan, site.secrets.redis_password)
        settings["worker_replication_secret"] = site.secrets.worker_replication_secret

    main = start_synapse(tmp_path / "synapse", site.secrets, adjust=adjust, python=python)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for worker in plan.workers:
            config = worker.config("127.0.0.1")
            config.pop("worker_log_config")  # the host's log.yaml: here, standard error
            config["pid_file"] = str(tmp_path / f"{worker.name}.pid")
            path = tmp_path / f"{worker.name}.yaml"
            path.write_text(json.dumps(config))
            log = (tmp_path / f"{worker.name}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [
                        str(python),
                        "-m",
                        "synapse.app.generic_worker",
                        "-c",
                        str(main.workdir / "homeserver.yaml"),
                        "-c",
                        str(path),
                    ],
                    cwd=main.workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deployment = Deployment(main, plan, site_dir, processes)
        for worker, process in zip(plan.workers, processes, strict=True):
            _wait_for_worker(deployment, worker, process, tmp_path)
        yield deployment
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        main.stop()


def test_a_message_sent_through_the_client_worker_reaches_sync_on_the_sync_worker(
    deployment: Deployment,
) -> None:
    site = load_site(deployment.site_dir)
    user = register_user(
        deployment.main.url, site.secrets.registration_shared_secret, "alice", "pw-alice-123"
    )
    client = deployment.url("client1")
    sync = deployment.url("sync1")
    # 30 s, not httpx's default 5: the first request to the worker, whose device
    # registration goes to the main process over replication.
    login = httpx.post(
        f"{client}/_matrix/client/v3/login",
        json={"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
              "password": "pw-alice-123"}, timeout=30,
    )  # fmt: skip
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    with httpx.Client(headers=auth, timeout=30) as http:
        assert http.get(f"{client}/_matrix/client/v3/account/whoami").json()["user_id"] == (
            user.user_id
        )
        created = http.post(f"{client}/_matrix/client/v3/createRoom", json={})
        assert created.status_code == 200, created.text
        room = created.json()["room_id"]
        first = http.get(f"{sync}/_matrix/client/v3/sync", params={"timeout": 0}).json()
        sent = http.put(
            f"{client}/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/t1",
            json={"msgtype": "m.text", "body": "through the workers"},
        )
        assert sent.status_code == 200, sent.text
        bodies: list[str] = []
        since = [first["next_batch"]]

        def arrived() -> bool:
            page = http.get(
                f"{sync}/_matrix/client/v3/sync", params={"since": since[-1], "timeout": 10000}
            ).json()
            since.append(page["next_batch"])
            for joined in page.get("rooms", {}).get("join", {}).values():
                bodies.extend(e["content"].get("body", "") for e in joined["timeline"]["events"])
            return "through the workers" in bodies

        wait_until(arrived, "the message to reach /sync on the sync worker", timeout=60, every=0)


def test_bench_through_a_worker(deployment: Deployment) -> None:
    from wmx.cli import app

    result = CliRunner().invoke(
        app,
        ["--site", str(deployment.site_dir), "bench", "-u", "4", "-r", "2", "--rate", "10",
         "-d", "2", "--client-url", deployment.url("client1"), "-o", "json",
         # A message still on its way through Redis replication after the default 15 s
         # counts as lost; the bench stops waiting as soon as all have arrived.
         "--settle", "60"],
        env={"WMX_ADMIN_URL": deployment.main.url},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    print(json.dumps(figures, indent=2))
    assert figures["received"] == figures["sent"] == 20


def test_the_replication_listener_wants_the_replication_secret(deployment: Deployment) -> None:
    # The workers above got through with it; a caller without it (or with another) is
    # refused (Synapse answers its RuntimeError with a 500), one with it is served.
    secret = load_site(deployment.site_dir).secrets.worker_replication_secret
    url = (
        f"http://127.0.0.1:{deployment.plan.replication_port}/_synapse/replication/"
        "get_repl_stream_updates/typing/wmx-test?from_token=0&upto_token=1"
    )
    assert httpx.get(url, timeout=30).status_code == 500
    wrong = {"Authorization": "Bearer not-the-secret"}
    assert httpx.get(url, headers=wrong, timeout=30).status_code == 500
    right = {"Authorization": f"Bearer {secret}"}
    answer = httpx.get(url, headers=right, timeout=30)
    assert answer.status_code == 200, answer.text
