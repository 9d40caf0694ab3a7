"""A real IRC bridge on this machine for the integration tests: Synapse (the release wmx
deploys), Heisenbridge (the release wmx deploys) registered with it through wmx's own
rendered registration, and ngircd as the IRC network, all on loopback.

Heisenbridge's venv is cached like Synapse's (`/var/cache/wmx/test-heisenbridge/<version>`,
or $WMX_TEST_HEISENBRIDGE_CACHE).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.integration.synapse_server import (
    SERVER_NAME,
    TestSynapse,
    cached_venv,
    free_port,
    homeserver_config,
    synapse_python,
)
from wmx.components.irc_bridge import REGISTRATION_FOR_BRIDGE, irc_bridge_view
from wmx.lab import ca, ircd
from wmx.render import render_site
from wmx.site import Site, SitePaths, load_site
from wmx.site.config_edit import set_value
from wmx.site.init import InitAnswers, init_site
from wmx.site.model import DEFAULT_HEISENBRIDGE_VERSION

CACHE = Path(os.environ.get("WMX_TEST_HEISENBRIDGE_CACHE", "/var/cache/wmx/test-heisenbridge"))
NETWORK = "testnet"


def heisenbridge_python(version: str = DEFAULT_HEISENBRIDGE_VERSION) -> Path:
    return cached_venv(CACHE, version, f"heisenbridge=={version}", "heisenbridge")


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    # As long as Synapse gets (start_synapse): a Python cold start and first calls to
    # Synapse on a loaded machine; a process that exits ends the wait at once.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not start:\n{tail}")


@dataclass
class IrcRig:
    site: Site
    synapse: TestSynapse
    bridge: subprocess.Popen[bytes]
    bridge_log: Path
    irc: ircd.IrcServerConfig
    identd_port: int
    bridge_argv: list[str]

    @property
    def url(self) -> str:
        return self.synapse.url

    def restart_bridge(self) -> None:
        self._stop(self.bridge)
        log = self.bridge_log.open("ab")
        self.bridge = subprocess.Popen(self.bridge_argv, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self._stop(self.bridge)
        self.synapse.stop()
        ircd.stop(self.irc)

    @staticmethod
    def _stop(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_rig(workdir: Path) -> IrcRig:
    """Everything up and the bridge registered with Synapse; the site points at them."""
    workdir.mkdir(parents=True, exist_ok=True)
    irc = ircd.IrcServerConfig(
        directory=workdir / "ircd", name="irc.rig.test", listen="127.0.0.1",
        port=free_port(), tls_port=None,
    )  # fmt: skip
    ca.ensure_ca(workdir / "ca.key", workdir / "ca.crt")
    ircd.ensure_running(irc, workdir / "ca.key", workdir / "ca.crt")

    root = workdir / "site"
    init_site(
        root,
        InitAnswers(
            server_name=SERVER_NAME,
            homeserver_host=f"matrix.{SERVER_NAME}",
            web_client_host=f"element.{SERVER_NAME}",
            admin_email=f"admin@{SERVER_NAME}",
            acme_email=f"admin@{SERVER_NAME}",
        ),
    )
    network = f"[{{name: {NETWORK}, servers: ['127.0.0.1:{irc.port}'], sasl: false}}]"
    set_value(SitePaths(root), "irc_bridge.networks", network, deployed=False)
    site = load_site(root)
    view = irc_bridge_view(site.config, site.topology)
    assert view is not None

    bridge_port, synapse_port, identd_port = free_port(), free_port(), free_port()
    registration = next(
        f.content for f in render_site(site)[view.host.name] if f.dest == REGISTRATION_FOR_BRIDGE
    ).replace(view.url, f"http://127.0.0.1:{bridge_port}")
    reg_path = workdir / "registration.yaml"
    reg_path.write_text(registration)
    reg_path.chmod(0o600)

    synapse_dir = workdir / "synapse"
    synapse_dir.mkdir()
    config = homeserver_config(synapse_dir, synapse_port, site.secrets)
    config["app_service_config_files"] = [str(reg_path)]
    config_path = synapse_dir / "homeserver.yaml"
    config_path.write_text(json.dumps(config, indent=2))
    config_path.chmod(0o600)
    python = synapse_python()
    base = [str(python), "-m", "synapse.app.homeserver", "-c", str(config_path)]
    subprocess.run([*base, "--generate-keys"], check=True, capture_output=True, cwd=synapse_dir)
    log = (synapse_dir / "homeserver.log").open("wb")
    process = subprocess.Popen(base, cwd=synapse_dir, stdout=log, stderr=subprocess.STDOUT)
    synapse = TestSynapse(f"http://127.0.0.1:{synapse_port}", synapse_dir, process)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{synapse.url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            synapse.stop()
            raise RuntimeError(f"Synapse did not start:\n{synapse.log_tail()}")
        time.sleep(0.3)

    bridge_argv = [
        str(heisenbridge_python()), "-m", "heisenbridge", "-v",
        "-c", str(reg_path), "-l", "127.0.0.1", "-p", str(bridge_port),
        "-i", "--identd-port", str(identd_port),
        "-o", view.owner, synapse.url,
    ]  # fmt: skip
    bridge_log = workdir / "heisenbridge.log"
    bridge = subprocess.Popen(bridge_argv, stdout=bridge_log.open("wb"), stderr=subprocess.STDOUT)
    _wait_port(bridge_port, bridge, bridge_log, "Heisenbridge")
    return IrcRig(site, synapse, bridge, bridge_log, irc, identd_port, bridge_argv)
