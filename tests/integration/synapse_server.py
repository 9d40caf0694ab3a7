"""A real Synapse for the integration tests: the release wmx deploys, from PyPI, on SQLite.

The virtualenv is cached (`/var/cache/wmx/test-synapse/<version>`, or
$WMX_TEST_SYNAPSE_CACHE) so that only the first run pays for the install.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from wmx.site.model import DEFAULT_SYNAPSE_VERSION
from wmx.site.secrets import Secrets

SERVER_NAME = "wmx.test"
NOTICES_LOCALPART = "notices"
CACHE = Path(os.environ.get("WMX_TEST_SYNAPSE_CACHE", "/var/cache/wmx/test-synapse"))


def cached_venv(cache: Path, name: str, requirement: str, imports: str) -> Path:
    """The python of the venv `cache/name` holding `requirement` (pinned by the caller),
    installed on first use; `imports` (e.g. "synapse, authlib") proves it complete.

    Several test sessions may share the cache (CI beside a developer, two checkouts): a lock
    file serialises the install, which goes to a staging directory of its own (no session
    deletes another's half-built venv) and is renamed into place only when complete, so a
    killed install is never reused. A venv in use is never installed into.
    """
    venv = cache / name
    python = venv / "bin" / "python"

    def importable() -> bool:
        probe = [str(python), "-c", f"import {imports}"]
        return python.exists() and subprocess.run(probe, capture_output=True).returncode == 0

    if importable():
        return python
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if importable():  # another session finished it while we waited
            return python
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=cache))
        try:
            subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True)
            pip = [str(staging / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
            subprocess.run([*pip, requirement], check=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        # The venv is run as `python -m`, which does not mind that its directory was renamed.
        shutil.rmtree(venv, ignore_errors=True)
        staging.rename(venv)
    return python


def synapse_python(version: str = DEFAULT_SYNAPSE_VERSION) -> Path:
    """The python of a venv holding matrix-synapse==version, installed on first use."""
    return cached_venv(CACHE, version, f"matrix-synapse=={version}", "synapse.app.homeserver")


# Ports for the test servers come from below the kernel's ephemeral range: bind(0) (such as
# the SSH tunnels wmx opens for the e2e tier beside this one) and the local ends of
# outgoing connections only ever take ports inside it, so nothing else on this machine
# takes one of ours between our check and the server's bind. Above the lab's fixed
# loopback ports (8055, 14000, 15000).
LOWEST_PORT = 20000
_HANDED_OUT: set[int] = set()  # this process's picks: none is handed out twice


def _ephemeral_start() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def free_ports(count: int = 1) -> int:
    """The first of `count` consecutive loopback ports, all free, below the ephemeral range
    and never handed out before in this process. For plans that number ports from a base
    (workers: the first port, the next one, ...): all of the block's ports are bound at
    once before it is handed out, so none is a neighbour already taken."""
    end = _ephemeral_start()
    if end - count < LOWEST_PORT:
        raise RuntimeError(f"no room for test ports between {LOWEST_PORT} and {end}")
    for _ in range(200):
        base = random.randrange(LOWEST_PORT, end - count + 1)
        block = range(base, base + count)
        if _HANDED_OUT.intersection(block):
            continue
        sockets: list[socket.socket] = []
        try:
            for port in block:
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:  # in use (or in TIME_WAIT, which a plain bind also refuses)
            continue
        finally:
            for sock in sockets:
                sock.close()
        _HANDED_OUT.update(block)
        return base
    raise RuntimeError(f"no {count} free loopback ports between {LOWEST_PORT} and {end}")


def free_port() -> int:
    return free_ports(1)


def log_tail(path: Path, lines: int = 40) -> str:
    """The end of a server's log, for a failure's message."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


def _relaxed(per_second: float = 1000, burst: int = 1000) -> dict[str, float]:
    return {"per_second": per_second, "burst_count": burst}


def homeserver_config(workdir: Path, port: int, secrets: Secrets) -> dict[str, object]:
    relaxed = _relaxed()
    return {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(workdir / "homeserver.pid"),
        "report_stats": False,
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}},
        "media_store_path": str(workdir / "media"),
        "signing_key_path": str(workdir / "signing.key"),
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "registration_shared_secret": secrets.registration_shared_secret,
        "macaroon_secret_key": secrets.macaroon_secret_key,
        "form_secret": secrets.form_secret,
        # Registration tokens: open registration, but only with a token.
        "enable_registration": True,
        "registration_requires_token": True,
        "server_notices": {
            "system_mxid_localpart": NOTICES_LOCALPART,
            "system_mxid_display_name": "Server Notices",
            "room_name": "Server Notices",
        },
        "room_list_publication_rules": [{"action": "allow"}],
        "url_preview_enabled": False,
        "presence": {"enabled": False},
        # Fast password hashing: tests register and log in hundreds of times.
        "bcrypt_rounds": 4,
        # Tests create many accounts, rooms and messages within seconds.
        "rc_message": relaxed,
        "rc_registration": relaxed,
        "rc_registration_token_validity": relaxed,
        "rc_login": {"address": relaxed, "account": relaxed, "failed_attempts": relaxed},
        "rc_joins": {"local": relaxed, "remote": relaxed},
        "rc_joins_per_room": relaxed,
        "rc_invites": {"per_room": relaxed, "per_user": relaxed, "per_issuer": relaxed},
        "rc_admin_redaction": relaxed,
        "rc_room_creation": relaxed,
        "rc_reports": relaxed,
        "rc_3pid_validation": relaxed,
        "rc_media_create": relaxed,
    }


@dataclass
class TestSynapse:
    __test__ = False  # a fixture's server, not a test class (pytest would try to collect it)

    url: str
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def log(self) -> Path:
        return self.workdir / "homeserver.log"

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log, lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_synapse(
    workdir: Path,
    secrets: Secrets,
    timeout: float = 120,
    adjust: Callable[[dict[str, Any]], None] | None = None,
    python: Path | None = None,
) -> TestSynapse:
    """Start Synapse on a free port; `adjust` may change its configuration first;
    `python`: another venv's (default: the shared test venv's)."""
    python = python or synapse_python()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "homeserver.yaml"
    settings: dict[str, Any] = homeserver_config(workdir, port, secrets)
    if adjust is not None:
        adjust(settings)
    # JSON is YAML: no YAML library needed to write the config.
    config.write_text(json.dumps(settings, indent=2))
    config.chmod(0o600)
    base = [str(python), "-m", "synapse.app.homeserver", "-c", str(config)]
    subprocess.run([*base, "--generate-keys"], check=True, capture_output=True, cwd=workdir)
    log = (workdir / "homeserver.log").open("wb")
    process = subprocess.Popen(base, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    server = TestSynapse(url=f"http://127.0.0.1:{port}", workdir=workdir, process=process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"Synapse exited ({process.returncode}):\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"Synapse did not become healthy:\n{server.log_tail()}")
        time.sleep(0.3)
