"""`wmx doctor` on the session's deployed lab site (tests/e2e/conftest.py `deployed`):
every check passes on a healthy site, and each fault, caused for real on the lab host and
put back afterwards, fails the check that names it.

Faults: a `.well-known/matrix/server` delegating elsewhere (the document nginx serves,
edited), a certificate for another name (nginx serving one from the lab CA), the
federation port closed by the host's firewall (an nftables rule), registration open
without verification (a Synapse conf.d fragment, Synapse restarted), and the host's clock
two days behind. Lab hosts are containers on the machine's kernel clock, so that last one
is Debian's libfaketime preloaded into the host's SSH sessions and its Synapse
(`clock_shifted`): the clock check fails, and so does a remote server's view of the keys.

It reuses the session's one deployed site (no deploy of its own). `synapse-release` is
skipped: the pinned Synapse may lag PyPI on a day the suite runs, which is the operator's
news, not a failure of wmx.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.clients import wait_until
from tests.e2e.conftest import Deployed, wmx
from wmx.lab.ca import ensure_server_cert

pytestmark = pytest.mark.timeout(1200)

WELL_KNOWN_SERVER = "/etc/wmx/nginx/well-known/matrix-server.json"
LIVE = "/etc/letsencrypt/live/wmx"
OPEN_REGISTRATION = "/etc/matrix-synapse/conf.d/zz-doctor-test.yaml"
SSHD_FAKETIME = "/etc/ssh/sshd_config.d/zz-doctor-test-faketime.conf"
SYNAPSE_FAKETIME = "/run/systemd/system/matrix-synapse.service.d/zz-doctor-test-faketime.conf"


def doctor(deployed: Deployed, *options: str) -> tuple[int, dict[str, dict[str, object]]]:
    result = wmx(
        "doctor", "-o", "json", "--ca-file", deployed.trust, "--skip", "synapse-release",
        *options, site=deployed.site.paths.root, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return result.returncode, {c["id"]: c for c in report["checks"]}


def failed(checks: dict[str, dict[str, object]]) -> dict[str, str]:
    return {id: str(c["detail"]) for id, c in checks.items() if not c["ok"]}


def sh(deployed: Deployed, script: str, input: str | None = None) -> str:
    return deployed.lab.run(deployed.host, ["sh", "-ec", script], input=input).stdout


def synapse_answers(deployed: Deployed) -> bool:
    probe = "curl -fsS -o /dev/null http://127.0.0.1:8008/health"
    return deployed.lab.run(deployed.host, ["sh", "-c", probe], check=False).returncode == 0


def restart_synapse(deployed: Deployed) -> None:
    sh(deployed, "systemctl restart matrix-synapse")
    wait_until(lambda: synapse_answers(deployed), "Synapse to answer again", timeout=180)


@contextmanager
def edited_well_known(deployed: Deployed) -> Iterator[None]:
    """nginx serves the rendered document; put another delegation in its place."""
    sh(deployed, f"cp {WELL_KNOWN_SERVER} /root/matrix-server.json.orig && "
       f"cat > {WELL_KNOWN_SERVER}", input='{"m.server": "elsewhere.test:443"}\n')  # fmt: skip
    try:
        yield
    finally:
        sh(deployed, f"cp /root/matrix-server.json.orig {WELL_KNOWN_SERVER}")


@contextmanager
def certificate_for(deployed: Deployed, name: str, tmp: Path) -> Iterator[None]:
    paths = deployed.lab.paths
    key, cert = tmp / "other.key", tmp / "other.crt"
    ensure_server_cert(paths.ca_key, paths.ca_cert, key, cert, [name], [])
    sh(deployed, f"mkdir -p /root/doctor-test && cp -P {LIVE}/fullchain.pem {LIVE}/privkey.pem "
       "/root/doctor-test/")  # fmt: skip
    sh(deployed, f"rm {LIVE}/fullchain.pem && cat > {LIVE}/fullchain.pem", input=cert.read_text())
    sh(deployed, f"rm {LIVE}/privkey.pem && cat > {LIVE}/privkey.pem", input=key.read_text())
    other = ssl.PEM_cert_to_DER_cert(cert.read_text())
    host = deployed.site.config.homeserver.host
    sh(deployed, "nginx -s reload")
    # A reload only signals nginx's master: old workers serve the old certificate until
    # new ones have started.
    wait_until(lambda: _served(deployed, host) == other, "nginx to serve the other certificate")
    try:
        yield
    finally:
        saved = "/root/doctor-test"
        sh(deployed, f"rm -f {LIVE}/fullchain.pem {LIVE}/privkey.pem && cp -P "
           f"{saved}/fullchain.pem {saved}/privkey.pem {LIVE}/ && nginx -s reload")  # fmt: skip
        wait_until(lambda: _served(deployed, host) != other, "nginx to serve its certificate")


def _served(deployed: Deployed, name: str) -> bytes | None:
    """The certificate nginx serves for `name` (DER), unchecked."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection((deployed.address, 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        return tls.getpeercert(binary_form=True)


@contextmanager
def port_closed(deployed: Deployed, port: int) -> Iterator[None]:
    sh(deployed, f"nft insert rule inet wmx input tcp dport {port} drop")
    try:
        yield
    finally:
        sh(deployed, "systemctl restart nftables")


@contextmanager
def open_registration(deployed: Deployed) -> Iterator[None]:
    fragment = "enable_registration: true\nenable_registration_without_verification: true\n"
    sh(deployed, f"cat > {OPEN_REGISTRATION}", input=fragment)
    restart_synapse(deployed)
    try:
        yield
    finally:
        sh(deployed, f"rm -f {OPEN_REGISTRATION}")
        restart_synapse(deployed)


@contextmanager
def clock_shifted(deployed: Deployed, offset: str) -> Iterator[None]:
    """SSH sessions on the host and its Synapse live `offset` (libfaketime's spelling:
    -2d, +10m) away from the machine's clock. Lab hosts are containers on the machine's
    kernel, so their clock cannot be set; Debian's libfaketime, preloaded, shifts what a
    program reads instead. It goes into sshd's sessions (SetEnv: `wmx doctor` reads the
    clock with `date` over SSH) and into Synapse (a runtime drop-in, Synapse restarted).
    Monotonic clocks stay real: Python's timed waits take absolute monotonic deadlines
    that libfaketime does not translate, and would never end."""
    install = "apt-get install -y -q libfaketime >/dev/null"
    sh(deployed, f"export DEBIAN_FRONTEND=noninteractive; {install} || "
       f"{{ apt-get update -q >/dev/null && {install}; }}")  # fmt: skip
    library = sh(deployed, "dpkg -L libfaketime | grep '/libfaketime.so.1$'").strip()
    faked = f"FAKETIME={offset} FAKETIME_DONT_FAKE_MONOTONIC=1"
    sh(deployed, f"cat > {SSHD_FAKETIME}", input=f"SetEnv LD_PRELOAD={library} {faked}\n")
    # Instead of the unit's jemalloc: with libfaketime beside it, jemalloc's first
    # clock_gettime runs into libfaketime's own start and neither ever returns.
    unit = f"[Service]\nEnvironment=LD_PRELOAD={library} {faked}\n"
    sh(deployed, f"mkdir -p {SYNAPSE_FAKETIME.rsplit('/', 1)[0]} && cat > {SYNAPSE_FAKETIME}",
       input=unit)  # fmt: skip
    try:
        sh(deployed, "sshd -t && systemctl reload ssh && systemctl daemon-reload")
        restart_synapse(deployed)
        yield
    finally:
        sh(deployed, f"rm -f {SSHD_FAKETIME} {SYNAPSE_FAKETIME} && systemctl reload ssh && "
           "systemctl daemon-reload")  # fmt: skip
        restart_synapse(deployed)
        # The shared site goes on to later modules as deployed: no test tool left on it.
        # (What Synapse wrote meanwhile, last-seen times and the like, is two days old.)
        sh(deployed, "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q libfaketime >/dev/null")


@pytest.fixture(scope="module")
def backed_up(deployed: Deployed) -> Deployed:
    """A backup has run (the doctor checks that the newest archive holds the signing key)."""
    if deployed.site.config.backup.enabled:
        wmx("backup", "run", site=deployed.site.paths.root)
    return deployed


def test_a_healthy_site_passes_every_check(backed_up: Deployed) -> None:
    code, checks = doctor(backed_up)
    assert failed(checks) == {}
    assert code == 0
    kinds = {id.split(":")[0] for id in checks}
    assert {"tls", "server-keys", "well-known-server", "clock", "disk", "registration",
            "previews-blacklist", "admin-api-hidden", "postgres-collation", "services",
            "config-drift"} <= kinds  # fmt: skip
    if backed_up.site.config.backup.enabled:
        assert checks["backup-signing-key"]["ok"] and checks["backup-fresh"]["ok"]


def test_a_well_known_delegating_elsewhere_fails(deployed: Deployed) -> None:
    with edited_well_known(deployed):
        code, checks = doctor(deployed, "--only", "outside")
    assert code == 1
    found = failed(checks)
    assert "m.server is 'elsewhere.test:443'" in found["well-known-server"]
    assert "federation-endpoint" in found


def test_a_certificate_for_another_name_fails(deployed: Deployed, tmp_path: Path) -> None:
    host = deployed.site.config.homeserver.host
    with certificate_for(deployed, "other.test", tmp_path):
        _, checks = doctor(deployed, "--only", "outside")
    assert "is for other.test, not " + host in failed(checks)[f"tls:{host}:443"]


def test_the_federation_port_closed_by_the_firewall_fails(deployed: Deployed) -> None:
    hs = deployed.site.config.homeserver
    with port_closed(deployed, hs.federation_port):
        _, checks = doctor(deployed, "--only", "outside")
    found = failed(checks)
    assert f"tls:{hs.host}:{hs.federation_port}" in found
    assert "did not answer" in found[f"tls:{hs.host}:{hs.federation_port}"]
    assert "server-keys" in found


def test_open_registration_fails(deployed: Deployed) -> None:
    with open_registration(deployed):
        _, checks = doctor(deployed, "--only", "inside", "--skip", "backup-fresh",
                           "--skip", "backup-signing-key")  # fmt: skip
    assert "anyone can register" in failed(checks)["registration"]


def test_a_host_clock_two_days_behind_fails_the_clock_and_the_keys(backed_up: Deployed) -> None:
    """What a remote server sees too: Synapse, living two days behind, signs key responses
    valid until a day after its own now, which is a day before the real one."""
    host = backed_up.host
    with clock_shifted(backed_up, "-2d"):
        code, checks = doctor(backed_up)
    assert code == 1
    found = failed(checks)
    assert found.keys() == {f"clock:{host}", "server-keys"}, found
    assert found[f"clock:{host}"].startswith("behind by 17")  # 172800 s, give or take
    assert "timedatectl set-ntp true" in str(checks[f"clock:{host}"]["fix"])
    assert "valid_until_ts lies" in found["server-keys"] and "in the past" in found["server-keys"]
    assert "check the host's clock" in str(checks["server-keys"]["fix"])
    code, checks = doctor(backed_up)
    assert failed(checks) == {} and code == 0
