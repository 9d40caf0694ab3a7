"""`wmx doctor` on the demo's lab site without `--ca-file` (session 11): 12 of 25 checks
failed on the one cause, the lab CA this machine does not trust, and every one of them
said "run `wmx deploy`" as its fix, and the federation endpoint was said to have "no
.well-known delegation" when .well-known had not been read. A check that never got past
the chain (and, then, the endpoint found without .well-known) now points at the TLS
checks' fix, and discovery says what it could not read."""

from __future__ import annotations

import pytest
from rich.console import Console

from wmx.doctor import Check, Report
from wmx.doctor.checks import DEPLOY
from wmx.doctor.discovery import UNREAD, Endpoint, WellKnown, resolve_federation
from wmx.doctor.fetch import FetchError
from wmx.doctor.present import render_report

UNTRUSTED = "the certificate chain on 10.213.0.11:443 is not trusted: unable to get local issuer"


def _text(report: Report) -> str:
    console = Console(width=300, record=True, color_system=None)
    for line in render_report(report):
        console.print(line)
    return console.export_text()


def test_a_check_stopped_by_the_chain_points_at_the_tls_fix() -> None:
    tls_fix = "serve a certificate from a public CA; `wmx doctor --ca-file PEM` trusts it"
    report = Report(
        "wmx.test",
        [
            Check("well-known-client", ".well-known/matrix/client", False, UNTRUSTED, DEPLOY),
            Check("tls:wmx.test:443", "TLS on wmx.test:443", False, UNTRUSTED, tls_fix),
            Check("backup-fresh", "Backups are fresh", False, "none yet", "run it", "inside"),
        ],
    )
    text = _text(report)
    assert DEPLOY not in text
    assert "fix: this machine does not trust the certificate chain: see the TLS checks' fix" in text
    assert f"fix: {tls_fix}  [tls:wmx.test:443]" in text
    assert "fix: run it  [backup-fresh]" in text
    assert "run again with --ca-file PEM" in text
    # Scripts keep each check's own fix.
    assert report.to_dict()["checks"][0]["fix"] == DEPLOY


def test_the_endpoint_found_without_well_known_points_there_only_when_untrusted() -> None:
    endpoint = Check(
        "federation-endpoint", "Federation endpoint", False, f"wmx.test:8448 via {UNREAD}", DEPLOY
    )
    tls = Check("tls:wmx.test:443", "TLS on wmx.test:443", False, UNTRUSTED, "renew it")
    assert DEPLOY not in _text(Report("wmx.test", [endpoint, tls]))
    # .well-known unread for another reason (a refused connection): the check's own fix.
    assert f"fix: {DEPLOY}  [federation-endpoint]" in _text(Report("wmx.test", [endpoint]))


def test_discovery_says_when_well_known_could_not_be_read() -> None:
    unread = WellKnown(
        "https://wmx.test/.well-known/matrix/server", error=FetchError("tls-untrusted", "x")
    )
    endpoint = resolve_federation("wmx.test", unread, lambda name: [])
    assert (endpoint.host, endpoint.port) == ("wmx.test", 8448)  # as a remote server would
    assert endpoint.via == "no .well-known read (see its check); port 8448"
    absent = WellKnown("https://wmx.test/.well-known/matrix/server", document={})
    assert resolve_federation("wmx.test", absent, lambda name: []).via.startswith(
        "no .well-known delegation"
    )


def test_an_unreadable_well_known_sends_the_federation_probes_to_the_sites_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without --ca-file on the demo site (session 13) .well-known could not be read, so
    doctor probed what a remote server would fall back to, wmx.test:8448: three 10 s
    timeouts, and fixes saying to open port 8448 on a site that federates on 443. A
    remote server trusts the chain and reads .well-known; the site's endpoint is probed."""
    from wmx.doctor import outside

    untrusted = FetchError("tls-untrusted", UNTRUSTED)

    def unread(server_name: str, kind: str, **_: object) -> WellKnown:
        return WellKnown(f"https://{server_name}/.well-known/matrix/{kind}", error=untrusted)

    probed: list[tuple[str, int]] = []

    def probe(target: object, endpoint: Endpoint) -> Check:
        probed.append((endpoint.host, endpoint.port))
        return Check("server-keys", "keys", False, f"{endpoint.text}: {UNTRUSTED}", DEPLOY)

    def tls(target: object, host: str, port: int, sni: str, role: str) -> list[Check]:
        probed.append((host, port))
        return [Check(f"tls:{host}:{port}", "TLS", False, UNTRUSTED, "renew it")]

    monkeypatch.setattr(outside, "fetch_well_known", unread)
    monkeypatch.setattr(outside, "_tls_checks", tls)
    monkeypatch.setattr(outside, "_keys_check", probe)
    monkeypatch.setattr(outside, "_version_check", probe)
    client = Check("client-versions", "versions", False, UNTRUSTED, DEPLOY)
    monkeypatch.setattr(outside, "_client_versions", lambda target, base: client)
    target = outside.Outside(
        "wmx.test", "matrix.wmx.test", 443, resolve=lambda name, port: ["10.213.0.11"],
        srv=lambda name: [],
    )  # fmt: skip
    checks = {c.id: c for c in outside.outside_checks(target)}
    assert ("wmx.test", 8448) not in probed
    assert probed.count(("matrix.wmx.test", 443)) == 3  # its TLS once, keys, version
    endpoint = checks["federation-endpoint"]
    assert not endpoint.ok and "remote servers would use" not in endpoint.detail
    assert endpoint.detail.endswith("the site's matrix.wmx.test:443 is checked below")
    assert "this machine does not trust the certificate chain" in _text(
        Report("wmx.test", list(checks.values()))
    )
