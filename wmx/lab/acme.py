"""The lab's ACME CA: pebble, with pebble-challtestsrv as the DNS it validates against.

    hosts / test clients ──https──► pebble 10.213.0.1:14000 (cert from the lab CA)
    pebble ──DNS──► challtestsrv 10.213.0.1:8053 (A records for the lab's .test names)
    pebble ──http-01──► <name>:80 on the lab host the name maps to

Pebble creates a new root CA every time it starts; that root is fetched from its
management API and written, with the lab CA, to trust.pem, which test clients verify
against, and is installed into every host's trust store.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from wmx.lab import commands
from wmx.lab.addressing import ACME_NAME, GATEWAY
from wmx.lab.daemons import Daemon
from wmx.lab.errors import LabError
from wmx.lab.paths import LabPaths

ACME_PORT = 14000
PEBBLE_MANAGEMENT = "127.0.0.1:15000"
DNS_ADDRESS = f"{GATEWAY}:8053"
CHALLTESTSRV_MANAGEMENT = "127.0.0.1:8055"
ACME_DIRECTORY = f"https://{ACME_NAME}:{ACME_PORT}/dir"
START_TIMEOUT = 20.0


def pebble_daemon(paths: LabPaths) -> Daemon:
    config = paths.acme_dir / "pebble-config.json"
    return Daemon(
        argv=["pebble", "-config", str(config), "-dnsserver", DNS_ADDRESS],
        pidfile=paths.acme_dir / "pebble.pid",
        logfile=paths.acme_dir / "pebble.log",
        markers=(str(config),),
        program="pebble",
        env=commands.clean_env(
            # No random sleeps before validation, and no rejected nonces: tests want speed
            # and determinism, not a rehearsal of clients' retry logic.
            {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
        ),
        cwd=paths.acme_dir,
    )


def challtestsrv_daemon(paths: LabPaths) -> Daemon:
    argv = [
        "pebble-challtestsrv",
        "-dns01", DNS_ADDRESS,
        "-management", CHALLTESTSRV_MANAGEMENT,
        # Its own challenge servers would take ports and are not used: pebble validates
        # against the real web servers on the lab hosts.
        "-http01", "",
        "-https01", "",
        "-tlsalpn01", "",
        # Unknown names must not resolve (the defaults answer 127.0.0.1 and ::1).
        "-defaultIPv4", "",
        "-defaultIPv6", "",
    ]  # fmt: skip
    return Daemon(
        argv=argv,
        pidfile=paths.acme_dir / "challtestsrv.pid",
        logfile=paths.acme_dir / "challtestsrv.log",
        markers=(DNS_ADDRESS,),
        program="pebble-challtestsrv",
        env=commands.clean_env(),
        cwd=paths.acme_dir,
    )


def write_pebble_config(paths: LabPaths) -> None:
    config = {
        "pebble": {
            "listenAddress": f"{GATEWAY}:{ACME_PORT}",
            "managementListenAddress": PEBBLE_MANAGEMENT,
            "certificate": str(paths.pebble_tls_cert),
            "privateKey": str(paths.pebble_tls_key),
            # Ports pebble's validator connects to on the lab hosts: the real ones.
            "httpPort": 80,
            "tlsPort": 443,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    paths.acme_dir.mkdir(parents=True, exist_ok=True)
    (paths.acme_dir / "pebble-config.json").write_text(
        json.dumps(config, indent=2) + "\n", encoding="utf-8"
    )


def ensure_running(paths: LabPaths) -> bool:
    """Start challtestsrv and pebble unless they run; True if pebble (re)started."""
    dns = challtestsrv_daemon(paths)
    if not dns.running():
        dns.stop()
        _wait_until(_challtestsrv_ready, dns, dns.start(), "pebble-challtestsrv")
    pebble = pebble_daemon(paths)
    if pebble.running() and _pebble_ready(paths):
        return False
    pebble.stop()
    write_pebble_config(paths)
    _wait_until(lambda: _pebble_ready(paths), pebble, pebble.start(), "pebble")
    return True


def stop(paths: LabPaths) -> None:
    pebble_daemon(paths).stop()
    challtestsrv_daemon(paths).stop()


def refresh_trust_bundle(paths: LabPaths) -> list[str]:
    """Fetch pebble's current root; write pebble-roots.pem and trust.pem; return the roots.

    Roots of earlier pebble runs (pebble restarted after a killed run) are kept until
    `down`: certificates they issued are still installed on the hosts, and clients should
    keep verifying them rather than fail until every site re-issues.
    """
    with _management_client(paths) as client:
        current = _get_pem(client, f"https://{PEBBLE_MANAGEMENT}/roots/0")
        intermediate = _get_pem(client, f"https://{PEBBLE_MANAGEMENT}/intermediates/0")
    try:
        earlier = split_pem(paths.pebble_roots.read_text(encoding="ascii"))
    except FileNotFoundError:
        earlier = []
    roots = [current, *(pem for pem in earlier if pem != current)]
    lab_ca = paths.ca_cert.read_text(encoding="ascii").strip() + "\n"
    _write(paths.pebble_roots, "".join(roots))
    _write(paths.pebble_intermediates, intermediate)
    _write(paths.trust_bundle, lab_ca + "".join(roots))
    return roots


def current_roots(paths: LabPaths) -> list[str]:
    """Every pebble root clients trust now (the current one first)."""
    try:
        return split_pem(paths.pebble_roots.read_text(encoding="ascii"))
    except FileNotFoundError:
        return []


def keep_roots(paths: LabPaths, roots: list[str]) -> None:
    """Trust ``roots`` too until `down`: those of an earlier pebble whose certificates are
    on a host restored from a snapshot."""
    current = current_roots(paths)
    merged = current + [pem for pem in (split_pem("".join(roots))) if pem not in current]
    if merged == current:
        return
    lab_ca = paths.ca_cert.read_text(encoding="ascii").strip() + "\n"
    _write(paths.pebble_roots, "".join(merged))
    _write(paths.trust_bundle, lab_ca + "".join(merged))


def split_pem(text: str) -> list[str]:
    """The certificates in a PEM bundle, each normalised to end with one newline."""
    end = "-----END CERTIFICATE-----"
    return [part.strip() + f"\n{end}\n" for part in text.split(end) if "BEGIN" in part]


def set_dns_records(records: Mapping[str, str], removed: list[str] | None = None) -> None:
    """Make challtestsrv answer A queries for ``records`` (name -> IPv4)."""
    with httpx.Client(base_url=f"http://{CHALLTESTSRV_MANAGEMENT}", trust_env=False) as client:
        for name in removed or []:
            client.post("/clear-a", json={"host": name}).raise_for_status()
        for name, address in sorted(records.items()):
            # add-a appends, so clear first to keep exactly one address per name.
            client.post("/clear-a", json={"host": name}).raise_for_status()
            client.post("/add-a", json={"host": name, "addresses": [address]}).raise_for_status()


def _management_client(paths: LabPaths) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(paths.ca_cert))
    return httpx.Client(verify=context, trust_env=False, timeout=5)


def _get_pem(client: httpx.Client, url: str) -> str:
    response = client.get(url)
    response.raise_for_status()
    text = response.text.strip()
    if "BEGIN CERTIFICATE" not in text:
        raise LabError(f"pebble answered {url} without a certificate")
    return text + "\n"


def _pebble_ready(paths: LabPaths) -> bool:
    try:
        with _management_client(paths) as client:
            client.get(f"https://{PEBBLE_MANAGEMENT}/roots/0").raise_for_status()
        return True
    except (httpx.HTTPError, ssl.SSLError, OSError):
        return False


def _challtestsrv_ready() -> bool:
    try:
        with httpx.Client(trust_env=False, timeout=2) as client:
            client.post(
                f"http://{CHALLTESTSRV_MANAGEMENT}/clear-a", json={"host": ACME_NAME}
            ).raise_for_status()
        return True
    except (httpx.HTTPError, OSError):
        return False


def _wait_until(
    ready: Callable[[], bool], daemon: Daemon, proc: subprocess.Popen[bytes], what: str
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if ready():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    tail = daemon.log_tail(3).replace("\n", " | ")
    raise LabError(f"{what} did not start (log: {daemon.logfile}){': ' + tail if tail else ''}")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="ascii")
    tmp.chmod(0o644)
    tmp.replace(path)
