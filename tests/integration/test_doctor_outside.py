"""`wmx doctor`'s outside checks against real servers on this machine: HTTPS front ends
with certificates from a test CA (serving .well-known and passing /_matrix through, as
wmx's nginx does) in front of a real Synapse with its federation and key APIs.

Each fault is made for real (a wrong .well-known, a certificate for other names or from
an untrusted CA, no listener on the federation port, a certificate about to expire, a
clock days ahead, a changed signed key response, old TLS, the Admin API passed through,
open registration), and each test asserts which checks fail and why, and that the others
still pass.
"""

from __future__ import annotations

import fcntl
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.doctor_rig import (
    ADDRESSES,
    HOMESERVER,
    Behaviour,
    DoctorCA,
    front_end,
    start_federating_synapse,
)
from tests.integration.synapse_server import SERVER_NAME, TestSynapse
from wmx.doctor.checks import Check
from wmx.doctor.dns import SrvRecord
from wmx.doctor.exposure import exposure_check, registration_check
from wmx.doctor.outside import Outside, outside_checks
from wmx.site.secrets import Secrets

pytestmark = pytest.mark.timeout(300)


def resolve(name: str, port: int) -> list[str]:
    return [ADDRESSES[name]] if name in ADDRESSES else []


def no_srv(name: str) -> list[SrvRecord]:
    return []


@dataclass
class Rig:
    ca: DoctorCA
    synapse: TestSynapse
    tmp: Path

    def target(self, federation_port: int = 443, **options: object) -> Outside:
        # Each request goes through the front end in this process to Synapse: 30 s for a
        # loaded machine. No case waits it out (those that fail are refused at once).
        return Outside(
            server_name=SERVER_NAME, homeserver_host=HOMESERVER,
            federation_port=federation_port, tls=self.ca.trust(), resolve=resolve,
            srv=no_srv, timeout=30, **options,  # type: ignore[arg-type]
        )  # fmt: skip

    def behaviour(self, federation_port: int = 443, **options: object) -> Behaviour:
        return Behaviour(self.synapse.url, f"{HOMESERVER}:{federation_port}", **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    # The front ends listen on fixed addresses (ADDRESSES, ports 443 and 8448): another
    # test session on this machine waits here for this module instead of colliding.
    with (Path(tempfile.gettempdir()) / ".wmx-test-doctor-outside.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        tmp = tmp_path_factory.mktemp("doctor")
        synapse = start_federating_synapse(tmp / "synapse", Secrets.generate())
        try:
            yield Rig(DoctorCA(tmp), synapse, tmp)
        finally:
            synapse.stop()


@pytest.fixture
def servers(rig: Rig) -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def serve_site(
    rig: Rig,
    stack: ExitStack,
    *,
    federation_port: int = 443,
    homeserver_cert: list[str] | None = None,
    ca: DoctorCA | None = None,
    days: float = 90,
    old_tls: bool = False,
    listen_8448: bool = True,
    **options: object,
) -> tuple[Behaviour, Behaviour]:
    """The server name's front end and the homeserver host's (on 443, and 8448 when the
    site federates there), like a one-proxy wmx site."""
    signer = ca or rig.ca
    name_cert = rig.ca.leaf([SERVER_NAME])
    hs_cert = signer.leaf(homeserver_cert or [HOMESERVER], days=days)
    outer = stack.enter_context(
        front_end(ADDRESSES[SERVER_NAME], 443, name_cert, rig.behaviour(federation_port, **options))
    )
    inner = rig.behaviour(federation_port, **options)
    stack.enter_context(front_end(ADDRESSES[HOMESERVER], 443, hs_cert, inner, old_tls=old_tls))
    if federation_port == 8448 and listen_8448:
        stack.enter_context(front_end(ADDRESSES[HOMESERVER], 8448, hs_cert, inner, old_tls=old_tls))
    return outer, inner


def failures(checks: list[Check]) -> dict[str, str]:
    return {c.id: c.detail for c in checks if not c.ok}


def by_id(checks: list[Check], id: str) -> Check:
    return next(c for c in checks if c.id == id)


@pytest.mark.parametrize("port", [443, 8448])
def test_a_healthy_site_passes_with_either_delegation(
    rig: Rig, servers: ExitStack, port: int
) -> None:
    serve_site(rig, servers, federation_port=port)
    target = rig.target(port)
    checks = outside_checks(target)
    assert failures(checks) == {}
    assert by_id(checks, "federation-endpoint").detail.startswith(
        f"{HOMESERVER}:{port} via .well-known"
    )
    assert f"tls:{HOMESERVER}:{port}" in {c.id for c in checks}
    assert "ed25519:" in by_id(checks, "server-keys").detail
    assert target.synapse_version and target.synapse_version[0].isdigit()
    assert (
        by_id(checks, "well-known-client").detail == f"m.homeserver https://{HOMESERVER}, CORS open"
    )
    # Registration with a token, and nothing private reachable.
    base = f"https://{HOMESERVER}"
    assert registration_check(target, base).ok
    closed_port = [("metrics synapse on hs", ADDRESSES[HOMESERVER], 9000, "metrics")]
    exposure = exposure_check(target, base, closed_port, timeout=1)
    assert exposure.ok, exposure.detail
    assert "Synapse does not answer /_synapse/admin" in exposure.detail
    # A proxy that does not answer at all hides them too, and the check says so.
    silent = exposure_check(target, "https://nothing.wmx.test", [], timeout=1)
    assert silent.ok and "did not answer (see the outside checks)" in silent.detail


def test_a_well_known_that_delegates_elsewhere_fails_by_name(rig: Rig, servers: ExitStack) -> None:
    outer, _ = serve_site(rig, servers)
    outer.server = "elsewhere.wmx.test:443"
    found = failures(outside_checks(rig.target()))
    assert (
        "m.server is 'elsewhere.wmx.test:443', the site says 'matrix.wmx.test:443'"
        in found["well-known-server"]
    )
    assert "remote servers would use elsewhere.wmx.test:443" in found["federation-endpoint"]
    assert found["tls:elsewhere.wmx.test:443"] == "elsewhere.wmx.test has no address"
    assert {"server-keys", "federation-version"} <= found.keys()
    assert not {"well-known-client", "client-versions", f"tls:{HOMESERVER}:443"} & found.keys()


def test_well_known_content_type_and_cors_are_checked(rig: Rig, servers: ExitStack) -> None:
    serve_site(rig, servers, content_type="text/plain", cors=False)
    found = failures(outside_checks(rig.target()))
    assert found["well-known-server"] == "content type text/plain, not application/json"
    assert "no Access-Control-Allow-Origin: *" in found["well-known-client"]
    assert found.keys() == {"well-known-server", "well-known-client"}


def test_a_redirected_well_known_is_followed_and_said(rig: Rig, servers: ExitStack) -> None:
    outer, _ = serve_site(rig, servers)
    outer.redirect_well_known_to = f"https://{HOMESERVER}"
    checks = outside_checks(rig.target())
    assert failures(checks) == {}
    assert (
        "after redirects from https://wmx.test/.well-known/matrix/server"
        in by_id(checks, "well-known-server").detail
    )


def test_a_certificate_for_another_name_fails_tls(rig: Rig, servers: ExitStack) -> None:
    serve_site(rig, servers, homeserver_cert=["other.test"])
    checks = outside_checks(rig.target())
    tls = by_id(checks, f"tls:{HOMESERVER}:443")
    assert not tls.ok
    assert (
        tls.detail
        == f"the certificate on {ADDRESSES[HOMESERVER]}:443 is for other.test, not {HOMESERVER}"
    )
    assert "certificate must name matrix.wmx.test" in tls.fix
    assert by_id(checks, f"tls:{SERVER_NAME}:443").ok


def test_an_untrusted_chain_fails_tls(rig: Rig, servers: ExitStack) -> None:
    stranger = DoctorCA(rig.tmp, "another CA")
    serve_site(rig, servers, ca=stranger)
    tls = by_id(outside_checks(rig.target()), f"tls:{HOMESERVER}:443")
    assert "is not trusted" in tls.detail and "public CA with its full chain" in tls.fix


def test_a_closed_federation_port_fails_tls_and_keys(rig: Rig, servers: ExitStack) -> None:
    serve_site(rig, servers, federation_port=8448, listen_8448=False)
    found = failures(outside_checks(rig.target(8448)))
    assert "cannot connect to 127.77.0.2:8448" in found[f"tls:{HOMESERVER}:8448"]
    assert "127.77.0.2:8448" in found["server-keys"] or "8448" in found["server-keys"]
    assert f"tls:{HOMESERVER}:443" not in found
    check = by_id(outside_checks(rig.target(8448)), f"tls:{HOMESERVER}:8448")
    assert "open TCP port 8448" in check.fix


def test_a_certificate_about_to_expire_fails_expiry(rig: Rig, servers: ExitStack) -> None:
    serve_site(rig, servers, days=3)
    found = failures(outside_checks(rig.target()))
    assert found.keys() == {f"cert-expiry:{HOMESERVER}:443"}
    assert found[f"cert-expiry:{HOMESERVER}:443"] == "expires in 3.0 days"


def test_a_clock_days_ahead_sees_the_keys_expired(rig: Rig, servers: ExitStack) -> None:
    serve_site(rig, servers)
    ahead = rig.target(clock=lambda: time.time() + 3 * 86400)
    found = failures(outside_checks(ahead))
    assert "valid_until_ts lies" in found["server-keys"] and "in the past" in found["server-keys"]
    assert found.keys() == {"server-keys"}


def test_a_changed_key_response_fails_its_signature(rig: Rig, servers: ExitStack) -> None:
    serve_site(rig, servers, tamper_keys=True)
    found = failures(outside_checks(rig.target()))
    assert found.keys() == {"server-keys"}
    assert "does not verify" in found["server-keys"]


def test_old_tls_versions_are_refused(rig: Rig, servers: ExitStack) -> None:
    serve_site(rig, servers, old_tls=True)
    found = failures(outside_checks(rig.target()))
    assert found[f"tls:{HOMESERVER}:443"].startswith(f"{ADDRESSES[HOMESERVER]} still accepts TLSv1")


def test_an_exposed_admin_api_or_port_is_named(rig: Rig, servers: ExitStack) -> None:
    serve_site(rig, servers, expose_admin=True)
    target, base = rig.target(), f"https://{HOMESERVER}"
    # Synapse's own plain listener, reached directly: its /health answers.
    synapse = rig.synapse.url.removeprefix("http://").split(":")
    direct = [("Synapse's listener", synapse[0], int(synapse[1]), "http")]
    # 10 s for Synapse's /health: a slow answer would count as "not exposed", silently.
    check = exposure_check(target, base, direct, timeout=10)
    assert not check.ok
    assert "https://matrix.wmx.test/_synapse/admin/v1/server_version (status 200)" in check.detail
    # Synapse serves no metrics on that listener: its 404 M_UNRECOGNIZED exposes nothing.
    assert "/_synapse/metrics" not in check.detail
    assert f"Synapse's listener (127.0.0.1:{synapse[1]})" in check.detail


def test_open_registration_without_verification_fails(rig: Rig, servers: ExitStack) -> None:
    synapse = start_federating_synapse(rig.tmp / "open", Secrets.generate(), open_registration=True)
    try:
        outer = Behaviour(synapse.url, f"{HOMESERVER}:443")
        name_cert, hs_cert = rig.ca.leaf([SERVER_NAME]), rig.ca.leaf([HOMESERVER])
        servers.enter_context(front_end(ADDRESSES[SERVER_NAME], 443, name_cert, outer))
        servers.enter_context(
            front_end(ADDRESSES[HOMESERVER], 443, hs_cert, Behaviour(synapse.url, None))
        )
        check = registration_check(rig.target(), f"https://{HOMESERVER}")
        assert not check.ok and check.id == "registration"
        assert "anyone can register with m.login.dummy" in check.detail
    finally:
        synapse.stop()
