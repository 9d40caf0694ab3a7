"""Checks from outside, as another homeserver (and a client) sees the site: names,
.well-known, the federation endpoint, TLS, the server's signed keys and its versions.
The Matrix federation tester makes the same checks; these also compare with the site."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from wmx.doctor.checks import DEPLOY, Check, failed, passed
from wmx.doctor.discovery import (
    UNREAD,
    Endpoint,
    SrvLookup,
    WellKnown,
    fetch_well_known,
    resolve_federation,
    split_host_port,
)
from wmx.doctor.dns import DnsError, SrvRecord, addresses, srv_records
from wmx.doctor.fetch import FetchError, Resolve, Response, old_tls_accepted, request
from wmx.doctor.keys import verify_server_keys

MIN_CERT_DAYS = 14  # certbot renews at 30 days left: under 14, renewal is failing


def lookup_srv(name: str) -> list[SrvRecord]:
    """SRV through DNS; names under the reserved .test live in hosts files only."""
    if name.rstrip(".").endswith(".test"):
        return []
    return srv_records(name)


@dataclass
class Outside:
    """What the outside checks look at and how they reach it."""

    server_name: str
    homeserver_host: str  # the site's client and federation API host
    federation_port: int | None = None  # the site's; None: only discover
    federation: bool = True
    tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)
    resolve: Resolve = addresses
    srv: SrvLookup = lookup_srv
    timeout: float = 10.0
    clock: Callable[[], float] = time.time
    # Learnt while checking: the federation version the server reports.
    synapse_version: str | None = None


def _names_check(target: Outside, id: str, name: str, role: str) -> Check:
    title = f"DNS of {name} ({role})"
    found = target.resolve(name, 443)
    if found:
        return passed(id, title, ", ".join(found))
    return failed(
        id,
        title,
        f"{name} has no A or AAAA record",
        f"add an A (and AAAA, if the host has IPv6) record for {name} pointing at the proxy host",
    )


def _srv_check(target: Outside) -> Check:
    title = "SRV record _matrix-fed._tcp (used only without a port in .well-known)"
    names = [target.server_name]
    if target.homeserver_host != target.server_name:
        names.append(target.homeserver_host)
    found: list[str] = []
    for name in names:
        try:
            records = target.srv(f"_matrix-fed._tcp.{name}")
        except DnsError as exc:
            return failed(
                "dns-srv",
                title,
                str(exc),
                "make sure the operator's machine can reach a DNS resolver, or skip this "
                "check with --skip dns-srv",
            )
        for record in records:
            host = record.target.rstrip(".")
            if not target.resolve(host, record.port):
                return failed(
                    "dns-srv",
                    title,
                    f"_matrix-fed._tcp.{name} points at {host}:{record.port}, which has no address",
                    f"remove the SRV record of {name} (wmx delegates with .well-known) or "
                    f"give {host} an A record",
                )
            found.append(f"{name} → {host}:{record.port}")
    return passed("dns-srv", title, "; ".join(found) if found else "none (fine)")


def _well_known_server(target: Outside, answer: WellKnown, endpoint: str | None) -> Check:
    title = f"{answer.url}"
    fix = f"wmx serves it from nginx on the proxy host: {DEPLOY}"
    if answer.error is not None and answer.error.kind.startswith("tls"):
        fix = f"the certificate of {target.server_name} must be valid: {fix}"
    problems = list(answer.problems)
    delegated = answer.document.get("m.server") if answer.document else None
    if answer.document is not None:
        if not isinstance(delegated, str):
            problems.append("no m.server string")
        else:
            try:
                split_host_port(delegated)
            except ValueError:
                problems.append(f"m.server {delegated!r} is not host[:port]")
            if endpoint and delegated != endpoint:
                problems.append(f"m.server is {delegated!r}, the site says {endpoint!r}")
    if problems:
        return failed("well-known-server", title, "; ".join(problems), fix)
    redirects = (
        f" (after redirects from {', '.join(answer.response.redirects)})"
        if (answer.response and answer.response.redirects)
        else ""
    )
    return passed("well-known-server", title, f"m.server {delegated}{redirects}")


def _well_known_client(target: Outside, answer: WellKnown) -> tuple[Check, str]:
    """The check, and the client API base URL that clients will use."""
    title = f"{answer.url}"
    expected = f"https://{target.homeserver_host}"
    problems = list(answer.problems)
    base = expected
    response = answer.response
    if (
        response is not None
        and response.status == 200
        and (response.header("access-control-allow-origin") != "*")
    ):
        problems.append("no Access-Control-Allow-Origin: * (web clients cannot read it)")
    if answer.document is not None:
        homeserver = answer.document.get("m.homeserver")
        url = homeserver.get("base_url") if isinstance(homeserver, dict) else None
        if not isinstance(url, str):
            problems.append("no m.homeserver.base_url")
        else:
            base = url.rstrip("/")
            if base != expected:
                problems.append(f"m.homeserver.base_url is {url!r}, the site says {expected!r}")
    if problems:
        return failed(
            "well-known-client",
            title,
            "; ".join(problems),
            f"wmx serves it from nginx on the proxy host: {DEPLOY}",
        ), base
    return passed("well-known-client", title, f"m.homeserver {base}, CORS open"), base


def _endpoint_check(target: Outside, endpoint: Endpoint) -> Check:
    title = "Federation endpoint (server discovery)"
    problems = list(endpoint.problems)
    if target.federation_port is not None:
        expected = f"{target.homeserver_host}:{target.federation_port}"
        if endpoint.text != expected:
            problems.append(f"remote servers would use {endpoint.text}, the site serves {expected}")
    detail = f"{endpoint.text} via {endpoint.via}"
    if problems:
        return failed(
            "federation-endpoint",
            title,
            f"{detail}: {'; '.join(problems)}",
            f"remote servers follow .well-known/matrix/server, then SRV: {DEPLOY}, and "
            "remove SRV records that contradict it",
        )
    return passed("federation-endpoint", title, detail)


def _tls_fix(kind: str, host: str, port: int) -> str:
    if kind == "tls-name":
        return (
            f"the proxy's certificate must name {host}: {DEPLOY} so certbot requests one "
            "for every name of the site (its log: journalctl -u certbot on the proxy host)"
        )
    if kind in ("tls-untrusted", "tls-expired"):
        private = (
            "; a lab or private CA: `wmx doctor --ca-file PEM` trusts it (the lab's: "
            "trust_bundle in `wmx lab status -o json`)"
            if kind == "tls-untrusted"
            else ""
        )
        return (
            "serve a certificate from a public CA with its full chain (fullchain.pem); "
            f"{DEPLOY} to renew it through ACME{private}"
        )
    if kind in ("connect", "timeout"):
        return (
            f"open TCP port {port} on the proxy host and any provider firewall in front of it "
            f"(wmx's firewall opens it: {DEPLOY}); check that nginx runs (`wmx status`)"
        )
    return f"check nginx on the proxy host (`wmx status`, `wmx logs nginx`); {DEPLOY}"


def _tls_checks(target: Outside, host: str, port: int, sni: str, role: str) -> list[Check]:
    subject = f"{host}:{port}"
    title = f"TLS on {subject} ({role})"
    found = target.resolve(host, port)
    if not found:
        return [
            failed(f"tls:{subject}", title, f"{host} has no address", _tls_fix("dns", host, port))
        ]
    seen: list[str] = []
    expiry: float | None = None
    for address in found:
        try:
            response = request(
                f"https://{sni}:{port}/",
                tls=target.tls,
                resolve=target.resolve,
                address=address,
                host_header=f"{sni}:{port}",
                timeout=target.timeout,
            )
        except FetchError as exc:
            return [failed(f"tls:{subject}", title, str(exc), _tls_fix(exc.kind, sni, port))]
        assert response.tls is not None
        old = old_tls_accepted(address, port, sni, timeout=target.timeout)
        if old:
            return [
                failed(
                    f"tls:{subject}",
                    title,
                    f"{address} still accepts {old}",
                    "allow TLS 1.2 and 1.3 only (wmx's nginx does: " + DEPLOY + ")",
                )
            ]
        info = response.tls
        seen.append(f"{address} {info.version}")
        expiry = info.not_after if expiry is None else min(expiry, info.not_after)
    checks = [
        passed(
            f"tls:{subject}",
            title,
            f"{', '.join(seen)}; chain trusted, names {sni}; TLS 1.0/1.1 refused; "
            f"issuer {info.issuer}",
        )
    ]
    assert expiry is not None
    days = (expiry - target.clock()) / 86400
    expiry_title = f"Certificate expiry on {subject}"
    if days < MIN_CERT_DAYS:
        checks.append(
            failed(
                f"cert-expiry:{subject}",
                expiry_title,
                f"expires in {days:.1f} days",
                "certbot renews 30 days ahead, so renewal is failing: read journalctl -u "
                f"certbot on the proxy host, then {DEPLOY}",
            )
        )
    else:
        checks.append(passed(f"cert-expiry:{subject}", expiry_title, f"{days:.0f} days left"))
    return checks


def _federation_get(target: Outside, endpoint: Endpoint, path: str) -> Response:
    return request(
        f"https://{endpoint.tls_name}:{endpoint.port}{path}",
        tls=target.tls,
        resolve=lambda _name, port: target.resolve(endpoint.host, port),
        host_header=endpoint.host_header,
        timeout=target.timeout,
    )


# What nginx answers when the Synapse behind it does not: the cause is not nginx's.
UPSTREAM_DOWN = {502, 503, 504}


def _json_of(response: Response) -> object:
    if response.status in UPSTREAM_DOWN:
        raise ValueError(
            f"status {response.status}: nginx answers, Synapse behind it does not "
            "(`wmx logs synapse`)"
        )
    if response.status != 200:
        raise ValueError(f"status {response.status}")
    try:
        return json.loads(response.body)
    except ValueError:
        raise ValueError("the answer is not JSON") from None


def _keys_check(target: Outside, endpoint: Endpoint) -> Check:
    title = "Server signing keys (/_matrix/key/v2/server)"
    fix = (
        "Synapse must answer with keys signed by its signing key "
        "(/var/lib/synapse/signing.key) and a valid_until_ts ahead: check the host's clock "
        f"and Synapse (`wmx status`, `wmx logs synapse`); {DEPLOY}"
    )
    try:
        document = _json_of(_federation_get(target, endpoint, "/_matrix/key/v2/server"))
    except (FetchError, ValueError) as exc:
        return failed("server-keys", title, f"{endpoint.text}: {exc}", fix)
    verdict = verify_server_keys(document, target.server_name, int(target.clock() * 1000))
    if verdict.problems:
        return failed("server-keys", title, "; ".join(verdict.problems), fix)
    assert verdict.valid_until_ts is not None
    ahead = (verdict.valid_until_ts / 1000 - target.clock()) / 3600
    return passed(
        "server-keys",
        title,
        f"{', '.join(verdict.verified_keys)} verified; valid for {ahead:.1f} h more",
    )


def _version_check(target: Outside, endpoint: Endpoint) -> Check:
    title = "Federation version (/_matrix/federation/v1/version)"
    try:
        document = _json_of(_federation_get(target, endpoint, "/_matrix/federation/v1/version"))
        server = document.get("server") if isinstance(document, dict) else None
        if not isinstance(server, dict) or not isinstance(server.get("version"), str):
            raise ValueError("no server.version in the answer")
    except (FetchError, ValueError) as exc:
        return failed(
            "federation-version",
            title,
            f"{endpoint.text}: {exc}",
            f"nginx must pass /_matrix/federation to Synapse, with federation on: {DEPLOY}",
        )
    target.synapse_version = str(server["version"]).split(" ")[0]
    return passed("federation-version", title, f"{server.get('name')} {server['version']}")


def _client_versions(target: Outside, base: str) -> Check:
    title = "Client API versions (/_matrix/client/versions)"
    try:
        document = _json_of(
            request(
                f"{base}/_matrix/client/versions",
                tls=target.tls,
                resolve=target.resolve,
                timeout=target.timeout,
            )
        )
        versions = document.get("versions") if isinstance(document, dict) else None
        if not isinstance(versions, list) or not versions:
            raise ValueError("no versions in the answer")
    except (FetchError, ValueError) as exc:
        return failed(
            "client-versions",
            title,
            f"{base}: {exc}",
            f"nginx must pass /_matrix to Synapse: `wmx status`, then {DEPLOY}",
        )
    return passed("client-versions", title, f"{base}: up to {versions[-1]}")


def outside_checks(target: Outside) -> list[Check]:
    checks = [
        _names_check(target, "dns-server-name", target.server_name, "server name"),
        _names_check(target, "dns-homeserver", target.homeserver_host, "homeserver host"),
        _srv_check(target),
    ]
    options = {"tls": target.tls, "resolve": target.resolve, "timeout": target.timeout}
    server = fetch_well_known(target.server_name, "server", **options)  # type: ignore[arg-type]
    client = fetch_well_known(target.server_name, "client", **options)  # type: ignore[arg-type]
    expected = (
        f"{target.homeserver_host}:{target.federation_port}" if target.federation_port else None
    )
    if target.federation:
        checks.append(_well_known_server(target, server, expected))
    client_check, base = _well_known_client(target, client)
    checks.append(client_check)
    tls_targets = [
        (target.server_name, 443, target.server_name, ".well-known"),
        (target.homeserver_host, 443, target.homeserver_host, "client API"),
    ]
    endpoint = None
    if target.federation:
        endpoint = resolve_federation(target.server_name, server, target.srv)
        untrusted = server.error is not None and server.error.kind == "tls-untrusted"
        if expected and target.federation_port and untrusted:
            # This machine cannot read .well-known, a remote server can: the fallback
            # (port 8448 of the server name) is nobody's endpoint, and probing it cost
            # three timeouts whose fixes said to open a port. The site's own is probed.
            checks.append(
                failed(
                    "federation-endpoint",
                    "Federation endpoint (server discovery)",
                    f"{UNREAD}: {server.error}; the site's {expected} is checked below",
                    f"remote servers follow .well-known/matrix/server: {DEPLOY}",
                )
            )
            endpoint = Endpoint(
                target.homeserver_host, target.federation_port, target.homeserver_host,
                expected, "wmx.yaml",
            )  # fmt: skip
        else:
            checks.append(_endpoint_check(target, endpoint))
        tls_targets.append((endpoint.host, endpoint.port, endpoint.tls_name, "federation"))
    done: set[tuple[str, int]] = set()
    for host, port, sni, role in tls_targets:
        if (host, port) not in done:
            done.add((host, port))
            checks += _tls_checks(target, host, port, sni, role)
    if endpoint is not None:
        checks.append(_keys_check(target, endpoint))
        checks.append(_version_check(target, endpoint))
    checks.append(_client_versions(target, base))
    return checks
