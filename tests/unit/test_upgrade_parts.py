"""`wmx upgrade --component irc-bridge | web-client`: the web client's switch back run for
real on links in a directory, its gate's check against a real TLS server, the bridge's
plan from the facts a host reports and PyPI's metadata, and the bridge's apply with its
host steps recorded (the lab runs them)."""

from __future__ import annotations

import functools
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.errors import InputError
from wmx.ops import upgrade_parts
from wmx.ops.upgrade import UpgradeFailed
from wmx.ops.upgrade_record import last_record
from wmx.ops.upgrade_release import PyPI
from wmx.site import load_site
from wmx.site.releases import DEFAULT_HEISENBRIDGE_VERSION

runner = CliRunner()
OLD_BRIDGE = "1.15.3"


# --- the web client's links ------------------------------------------------------


def _release(root: Path, name: str, index: bool = True) -> Path:
    path = root / "releases" / name
    path.mkdir(parents=True)
    if index:
        (path / "index.html").write_text(f"<html>{name}</html>")
    return path


def _switch_back(root: Path) -> subprocess.CompletedProcess[str]:
    script = upgrade_parts.client_switch_back_script(str(root / "current"), str(root / "previous"))
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)


def test_the_web_client_switches_back_to_the_previous_release_and_forth(tmp_path: Path) -> None:
    old, new = _release(tmp_path, "1.11.1-aaa"), _release(tmp_path, "1.11.2-bbb")
    (tmp_path / "current").symlink_to(new)
    (tmp_path / "previous").symlink_to(old)
    assert _switch_back(tmp_path).returncode == 0
    assert (tmp_path / "current").readlink() == old
    assert (tmp_path / "previous").readlink() == new
    # Again: the rollback of the rollback.
    assert _switch_back(tmp_path).returncode == 0
    assert (tmp_path / "current").readlink() == new
    assert not list(tmp_path.glob("*.wmx-new"))


def test_a_previous_release_without_index_html_leaves_the_served_one(tmp_path: Path) -> None:
    old, new = _release(tmp_path, "old", index=False), _release(tmp_path, "new")
    (tmp_path / "current").symlink_to(new)
    (tmp_path / "previous").symlink_to(old)
    assert _switch_back(tmp_path).returncode != 0
    assert (tmp_path / "current").readlink() == new


# --- the IRC bridge ----------------------------------------------------------------


def _pypi(tmp_path: Path) -> PyPI:
    releases = {
        v: [{"filename": f"heisenbridge-{v}.tar.gz", "requires_python": ">=3.10"}]
        for v in (OLD_BRIDGE, DEFAULT_HEISENBRIDGE_VERSION, "1.99.0")
    }

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/pypi/heisenbridge/json"
        return httpx.Response(200, json={"releases": releases})

    return PyPI(tmp_path / "cache", project="heisenbridge", transport=httpx.MockTransport(answer))


class BridgeHost:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, facts: str, gates: list[bool]) -> None:
        self.scripts: list[str] = []
        self.facts, self.gates = facts, gates
        monkeypatch.setattr(upgrade_parts, "remote", self.remote)
        monkeypatch.setattr(upgrade_parts, "bridge_gate", self.gate)

    def remote(self, host: Any, script: str, timeout: float = 0) -> str:
        self.scripts.append(script)
        return self.facts if script == upgrade_parts.BRIDGE_FACTS else ""

    def gate(self, site: Any, timeout: float) -> tuple[bool, str]:
        ok = self.gates.pop(0)
        return ok, "the bridge answers" if ok else "irc_bridge: heisenbridge.service is failed"


FACTS = f"3.11.2\n/opt/heisenbridge/venvs/{OLD_BRIDGE}\n1\n"


def test_the_bridge_plan_reads_the_link_python_and_pypi(
    site_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    BridgeHost(monkeypatch, FACTS, [])
    with _pypi(tmp_path) as pypi:
        plan = upgrade_parts.plan_bridge(load_site(site_dir), pypi, None)
    assert (plan.running, plan.target, plan.latest) == (
        OLD_BRIDGE,
        DEFAULT_HEISENBRIDGE_VERSION,
        "1.99.0",
    )
    assert plan.ok, plan.checks
    assert "PyPI has a newer release: 1.99.0" in plan.warnings[0]
    # A unit that still runs a venv (deployed by an older wmx) must be deployed first.
    BridgeHost(monkeypatch, f"3.11.2\n/opt/heisenbridge/venvs/{OLD_BRIDGE}\n0\n", [])
    with _pypi(tmp_path) as pypi:
        stale = upgrade_parts.plan_bridge(load_site(site_dir), pypi, None)
    assert not stale.ok and "`wmx deploy` once" in stale.checks[-1].detail
    with _pypi(tmp_path) as pypi, pytest.raises(InputError, match="no such Heisenbridge"):
        upgrade_parts.plan_bridge(load_site(site_dir), pypi, "0.0.1")


def test_the_bridge_apply_switches_and_records_or_switches_back(
    site_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = BridgeHost(monkeypatch, FACTS, [False, True])
    site = load_site(site_dir)
    with _pypi(tmp_path) as pypi:
        plan = upgrade_parts.plan_bridge(site, pypi, None)
    with pytest.raises(UpgradeFailed, match=f"failed the gate .*back on {OLD_BRIDGE}"):
        upgrade_parts.apply_bridge(site, plan, lambda _t: None, gate_timeout=10)
    switches = [s for s in host.scripts if "mv -T" in s]
    assert [
        f"venvs/{DEFAULT_HEISENBRIDGE_VERSION} " in switches[0],
        f"venvs/{OLD_BRIDGE} " in switches[1],
    ] == [True, True]
    record = last_record(site.paths.state)
    assert record is not None and record["status"] == "rolled-back"
    assert record["component"] == "irc-bridge" and record["failed"] == ["irc_bridge"]

    host.gates = [True]
    done = upgrade_parts.apply_bridge(site, plan, lambda _t: None, gate_timeout=10)
    assert done.status == "applied"
    assert load_site(site_dir).config.irc_bridge.version == DEFAULT_HEISENBRIDGE_VERSION
    applied = upgrade_parts.plan_part_rollback(site, "irc-bridge")
    assert applied["from_version"] == OLD_BRIDGE
    host.gates = [True]
    back = upgrade_parts.rollback_part(site, "irc-bridge", applied, lambda _t: None)
    assert back.status == "rolled-back-by-hand"
    assert load_site(site_dir).config.irc_bridge.version == OLD_BRIDGE
    assert (
        json.loads((site.paths.state / "upgrades" / "last.json").read_text())["kind"] == "rollback"
    )


def test_a_bad_checksum_is_one_line_exit_2(site_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "--site",
            str(site_dir),
            "upgrade",
            "plan",
            "-c",
            "web-client",
            "--to",
            "1.11.99",
            "--sha256",
            "xyz",
        ],
    )
    assert result.exit_code == 2
    assert result.stderr == "error: --sha256: not a SHA-256 (64 hexadecimal digits)\n"


# --- the web client's gate, against a real TLS server --------------------------------


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A TLS server with a self-signed certificate serving `tmp_path/served`."""
    served = tmp_path / "served"
    served.mkdir()
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=element.u.test", "-keyout", str(key), "-out", str(cert)),
        ],
        capture_output=True,
        check=True,
    )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _check(index: Path, port: int) -> subprocess.CompletedProcess[str]:
    script = upgrade_parts.client_check_script("element.u.test", str(index), port)
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)


def test_the_web_client_gate_wants_the_current_index_and_config(
    tls_site: tuple[Path, int], tmp_path: Path
) -> None:
    served, port = tls_site
    release = _release(tmp_path, "1.11.2-bbb")
    (served / "index.html").write_bytes((release / "index.html").read_bytes())
    (served / "config.json").write_text("{}")
    passed = _check(release / "index.html", port)
    assert passed.returncode == 0 and passed.stdout.strip() == "ok", passed.stderr
    # The server still serves another release's page: not switched.
    (served / "index.html").write_text("<html>1.11.1-aaa</html>")
    stale = _check(release / "index.html", port)
    assert stale.returncode != 0
    assert "/ is not the current release's index.html" in stale.stderr
    (served / "index.html").write_bytes((release / "index.html").read_bytes())
    (served / "config.json").unlink()
    missing = _check(release / "index.html", port)
    assert missing.returncode != 0 and "/config.json: HTTP/1.0 404" in missing.stderr
