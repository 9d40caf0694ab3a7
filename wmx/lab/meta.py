"""The lab's Meta-Wiki: wmx/lab/wikimedia.py's OAuth 2.0 stand-in as a lab daemon.

    lab hosts (Synapse's Wikimedia login) ──https──► 10.213.0.1:443 (meta.lab.test)
    browsers and tests on the machine ─────────────► the same

As pebble stands in for Let's Encrypt, it stands in for https://meta.wikimedia.org: the
same REST endpoints below /w, a consent page, the test accounts of issue 15. Its
certificate comes from the lab CA, which every host and the lab's trust bundle trust.
It has one OAuth 2.0 consumer, made with the lab (key and secret in consumer.json,
readable by root only), whose callback is a prefix (`https://`), so that every lab site
logs in through it: `wmx lab up --site` gives a site with `login:` on its key and secret.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import ssl
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import wmx
from wmx.lab import ca, commands
from wmx.lab.addressing import GATEWAY, LAB_DOMAIN
from wmx.lab.daemons import Daemon
from wmx.lab.errors import LabError
from wmx.lab.paths import LabPaths
from wmx.lab.wikimedia import (
    ACCOUNTS_FILE,
    CERT_FILE,
    CONSUMER_FILE,
    KEY_FILE,
    LAB_ACCOUNTS,
    PROFILE,
    Consumer,
    read_accounts,
    write_accounts,
)

META_NAME = f"meta.{LAB_DOMAIN}"
META_PORT = 443
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class MetaServerConfig:
    """One stand-in daemon: the lab's, or a test's own."""

    directory: Path
    name: str = META_NAME
    listen: str = str(GATEWAY)
    port: int = META_PORT

    @property
    def url(self) -> str:
        """The wiki's base URL (login.wiki_url); its script path is /w."""
        return f"https://{self.name}" + ("" if self.port == 443 else f":{self.port}")

    @property
    def consumer_file(self) -> Path:
        return self.directory / CONSUMER_FILE

    @property
    def accounts_file(self) -> Path:
        return self.directory / ACCOUNTS_FILE

    @property
    def cert(self) -> Path:
        return self.directory / CERT_FILE

    @property
    def key(self) -> Path:
        return self.directory / KEY_FILE


def lab_config(paths: LabPaths) -> MetaServerConfig:
    return MetaServerConfig(directory=paths.state_dir / "meta")


def consumer(config: MetaServerConfig) -> Consumer:
    """The lab's OAuth 2.0 consumer (key and secret), made by `wmx lab up`."""
    try:
        fields: dict[str, Any] = json.loads(config.consumer_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabError("the lab's Meta stand-in is not set up yet: run `wmx lab up`") from None
    return Consumer(**fields)


def daemon(config: MetaServerConfig) -> Daemon:
    directory = str(config.directory)
    argv = [sys.executable, "-m", "wmx.lab.wikimedia", "--directory", directory]
    return Daemon(
        argv=[*argv, "--listen", config.listen, "--port", str(config.port)],
        pidfile=config.directory / "meta.pid",
        logfile=config.directory / "meta.log",
        markers=("wmx.lab.wikimedia", directory),
        # The daemon must import this same wmx, installed or not.
        env=commands.clean_env({"PYTHONPATH": str(Path(wmx.__file__).resolve().parent.parent)}),
        cwd=config.directory,
    )


def write_files(config: MetaServerConfig, ca_key: Path, ca_cert: Path) -> bool:
    """Certificate, consumer and accounts (kept once made); True if anything changed."""
    config.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    changed = ca.ensure_server_cert(
        ca_key, ca_cert, config.key, config.cert, [config.name], [config.listen]
    )
    if not config.consumer_file.exists():
        made = Consumer(
            client_id=secrets.token_hex(16),  # 32 hex digits, as MediaWiki makes them
            client_secret=secrets.token_hex(20),
            redirect_uri="https://",
            name="wmx lab chat",
            callback_prefix=True,
        )
        scratch = config.consumer_file.with_suffix(".new")
        scratch.touch(mode=0o600)
        scratch.write_text(json.dumps(asdict(made), indent=1), encoding="utf-8")
        os.replace(scratch, config.consumer_file)
        changed = True
    if not config.accounts_file.exists():
        write_accounts(config.accounts_file, list(LAB_ACCOUNTS.values()))
    return changed


def ensure_running(config: MetaServerConfig, ca_key: Path, ca_cert: Path) -> bool:
    """Start the stand-in unless it runs with the current files; True if it (re)started."""
    changed = write_files(config, ca_key, ca_cert)
    server = daemon(config)
    if server.running() and not changed and ready(config, ca_cert):
        return False
    server.stop()
    process = server.start()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if ready(config, ca_cert):
            return True
        if process.poll() is not None:
            break
        time.sleep(0.2)
    tail = server.log_tail(3).replace("\n", " | ")
    raise LabError(
        f"the Meta stand-in did not start (log: {server.logfile}){': ' + tail if tail else ''}"
    )


def stop(config: MetaServerConfig) -> None:
    daemon(config).stop()


def ready(config: MetaServerConfig, ca_cert: Path) -> bool:
    """It answers over TLS, with its certificate from the lab CA for its address, and
    refuses a profile request without a token as MediaWiki does (401)."""
    context = ssl.create_default_context(cafile=str(ca_cert))
    connection = http.client.HTTPSConnection(config.listen, config.port, timeout=2, context=context)
    try:
        connection.request("GET", PROFILE)
        return connection.getresponse().status == 401
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def change_account(config: MetaServerConfig, sub: int, **fields: Any) -> None:
    """Change one account of the running stand-in as Meta's stewards would: a global
    rename (``username=``, same ``sub``), a block (``blocked=True``), an edit count."""
    accounts = read_accounts(config.accounts_file)
    if sub not in {a.sub for a in accounts}:
        raise LabError(f"the lab's Meta has no account {sub}")
    changed = [replace(a, **fields) if a.sub == sub else a for a in accounts]
    write_accounts(config.accounts_file, changed)
