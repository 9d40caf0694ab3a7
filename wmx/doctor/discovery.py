"""Server discovery as the Matrix specification has a remote homeserver do it
(server-server API, "Resolving server names"): `.well-known/matrix/server`, then SRV
`_matrix-fed._tcp`, then port 8448."""

from __future__ import annotations

import ipaddress
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from wmx.doctor.dns import DnsError, SrvRecord
from wmx.doctor.fetch import FetchError, Resolve, Response, get_following

SrvLookup = Callable[[str], list[SrvRecord]]
DEFAULT_FEDERATION_PORT = 8448


@dataclass
class WellKnown:
    """The answer to GET https://NAME/.well-known/matrix/KIND, judged."""

    url: str
    response: Response | None = None
    error: FetchError | None = None
    document: dict[str, object] | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Endpoint:
    """Where a remote server sends federation traffic for a server name."""

    host: str  # the name connected to (and resolved)
    port: int
    tls_name: str  # the name the certificate must hold (and SNI)
    host_header: str
    via: str  # how it was found, in words
    problems: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{self.host}:{self.port}"


# How an endpoint found without reading .well-known (the request failed) says so.
UNREAD = "no .well-known read (see its check)"


def split_host_port(value: str) -> tuple[str, int | None]:
    """'host', 'host:port', '[v6]:port' → (host, port or None); ValueError if malformed."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        ipaddress.IPv6Address(host)
        if rest and not rest.startswith(":"):
            raise ValueError(value)
        port = rest[1:] if rest else None
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep:
            host, port = value, None
        else:
            port = port_text
    if port is not None and (not port.isdigit() or not 0 < int(port) < 65536):
        raise ValueError(f"bad port in {value!r}")
    if not host:
        raise ValueError(f"no host in {value!r}")
    return host, int(port) if port is not None else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def fetch_well_known(
    server_name: str, kind: str, *, tls: ssl.SSLContext, resolve: Resolve, timeout: float = 10
) -> WellKnown:
    """GET the `.well-known/matrix/{kind}` of `server_name` and list what is wrong."""
    result = WellKnown(f"https://{server_name}/.well-known/matrix/{kind}")
    try:
        response = get_following(result.url, tls=tls, resolve=resolve, timeout=timeout)
    except FetchError as exc:
        result.error = exc
        result.problems.append(str(exc))
        return result
    result.response = response
    if response.status != 200:
        result.problems.append(f"status {response.status}")
        return result
    media = response.header("content-type").split(";")[0].strip().lower()
    if media != "application/json":
        result.problems.append(f"content type {media or 'missing'}, not application/json")
    try:
        document = json.loads(response.body)
    except ValueError:
        result.problems.append("the body is not JSON")
        return result
    if not isinstance(document, dict):
        result.problems.append("the body is not a JSON object")
        return result
    result.document = document
    return result


def resolve_federation(server_name: str, well_known: WellKnown | None, srv: SrvLookup) -> Endpoint:
    """Follow the specification's steps from `server_name` (and its .well-known answer)
    to the endpoint a remote homeserver connects to."""
    name, port = split_host_port(server_name)
    if _is_ip(name) or port is not None:
        chosen = port or DEFAULT_FEDERATION_PORT
        return Endpoint(name, chosen, name, server_name, "the server name itself")
    delegated = well_known.document.get("m.server") if well_known and well_known.document else None
    if isinstance(delegated, str):
        try:
            host, port = split_host_port(delegated)
        except ValueError:
            endpoint = _srv_or_default(name, srv, "no usable .well-known")
            endpoint.problems.append(f".well-known m.server {delegated!r} is not host[:port]")
            return endpoint
        via = f".well-known delegation to {delegated}"
        if _is_ip(host) or port is not None:
            chosen = port or DEFAULT_FEDERATION_PORT
            header = delegated if port is not None else host
            return Endpoint(host, chosen, host, header, via)
        endpoint = _srv_or_default(host, srv, via)
        endpoint.tls_name = endpoint.host_header = host
        return endpoint
    unread = well_known is not None and well_known.error is not None
    return _srv_or_default(name, srv, UNREAD if unread else "no .well-known delegation")


def _srv_or_default(name: str, srv: SrvLookup, via: str) -> Endpoint:
    problems: list[str] = []
    try:
        records = srv(f"_matrix-fed._tcp.{name}")
    except DnsError as exc:
        records = []
        problems.append(f"SRV lookup of _matrix-fed._tcp.{name} failed: {exc}")
    if records:
        best = records[0]
        target = best.target.rstrip(".")
        endpoint = Endpoint(
            target, best.port, name, name, f"{via}; SRV _matrix-fed._tcp.{name}", problems
        )
    else:
        endpoint = Endpoint(
            name, DEFAULT_FEDERATION_PORT, name, name, f"{via}; port 8448", problems
        )
    return endpoint
