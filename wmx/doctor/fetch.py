"""HTTPS requests as a homeserver makes them, with what it saw of TLS: connect to one
address of a name, verify the chain and the name (SNI), and tell apart why a handshake
failed (untrusted chain, a certificate for other names, expired, refused, timed out).

The standard library does this: httpx hides the certificate and the address it used.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from cryptography import x509

MAX_BODY = 1 << 20
USER_AGENT = "wmx-doctor"
# OpenSSL's verify codes for the causes an operator fixes differently.
_HOSTNAME_MISMATCH = 62
_EXPIRED = 10

Resolve = Callable[[str, int], list[str]]


class FetchError(Exception):
    """A request that got no HTTP answer; `kind` names the cause."""

    def __init__(self, kind: str, message: str, names: list[str] | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # dns, connect, timeout, tls-untrusted, tls-name, tls-expired, tls, http
        self.names = names or []  # tls-name: the names the certificate is for


@dataclass(frozen=True)
class TlsInfo:
    version: str
    cipher: str
    names: list[str]
    issuer: str
    not_after: float


@dataclass
class Response:
    url: str
    address: str
    status: int
    headers: dict[str, str]
    body: bytes
    tls: TlsInfo | None
    redirects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def certificate_info(der: bytes) -> tuple[list[str], str, float]:
    """DNS and IP names, issuer and expiry (epoch seconds) of a DER certificate."""
    cert = x509.load_der_x509_certificate(der)
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.DNSName)]
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = [a.value for a in cert.subject if a.oid == x509.NameOID.COMMON_NAME]  # type: ignore[misc]
    return names, cert.issuer.rfc4514_string(), cert.not_valid_after_utc.timestamp()


def _tls_info(sock: ssl.SSLSocket) -> TlsInfo:
    der = sock.getpeercert(binary_form=True) or b""
    names, issuer, not_after = certificate_info(der)
    cipher = sock.cipher()
    return TlsInfo(sock.version() or "", cipher[0] if cipher else "", names, issuer, not_after)


def presented_names(address: str, port: int, sni: str, timeout: float) -> list[str]:
    """The names of the certificate served for `sni`, without judging it."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((address, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=sni) as sock,
        ):
            return certificate_info(sock.getpeercert(binary_form=True) or b"")[0]
    except (OSError, ValueError):
        return []


def connect(
    address: str, port: int, sni: str | None, tls: ssl.SSLContext | None, timeout: float
) -> socket.socket:
    """A connected socket (TLS-wrapped and verified for `sni` when `tls` is given)."""
    try:
        raw = socket.create_connection((address, port), timeout=timeout)
    except TimeoutError as exc:
        raise FetchError(
            "timeout", f"{address}:{port} did not answer within {timeout:.0f} s"
        ) from exc
    except OSError as exc:
        raise FetchError(
            "connect", f"cannot connect to {address}:{port}: {exc.strerror or exc}"
        ) from exc
    if tls is None:
        return raw
    try:
        return tls.wrap_socket(raw, server_hostname=sni)
    except ssl.SSLCertVerificationError as exc:
        raw.close()
        if exc.verify_code == _HOSTNAME_MISMATCH:
            names = presented_names(address, port, sni or address, timeout)
            raise FetchError(
                "tls-name",
                f"the certificate on {address}:{port} is for {', '.join(names) or 'other names'}, "
                f"not {sni}",
                names,
            ) from exc
        if exc.verify_code == _EXPIRED:
            raise FetchError(
                "tls-expired", f"the certificate on {address}:{port} has expired"
            ) from exc
        raise FetchError(
            "tls-untrusted",
            f"the certificate chain on {address}:{port} is not trusted: {exc.verify_message}",
        ) from exc
    except (ssl.SSLError, OSError) as exc:
        raw.close()
        raise FetchError("tls", f"TLS handshake with {address}:{port} failed: {exc}") from exc


def request(
    url: str,
    *,
    tls: ssl.SSLContext,
    resolve: Resolve,
    address: str | None = None,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    host_header: str | None = None,
    timeout: float = 10.0,
) -> Response:
    """One request (no redirects followed) to `url`'s host, at `address` if given."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    if address is None:
        found = resolve(host, port)
        if not found:
            raise FetchError("dns", f"{host} has no address")
        address = found[0]
    sock = connect(address, port, host, tls if secure else None, timeout)
    info = _tls_info(sock) if isinstance(sock, ssl.SSLSocket) else None
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.sock = sock
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    sent = {"User-Agent": USER_AGENT, "Host": host_header or parts.netloc, **(headers or {})}
    try:
        conn.request(method, path, body=body, headers=sent)
        answer = conn.getresponse()
        data = answer.read(MAX_BODY)
        got = {k.lower(): v for k, v in answer.getheaders()}
    except TimeoutError as exc:
        raise FetchError("timeout", f"{url} did not answer within {timeout:.0f} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError("http", f"{url}: {exc}") from exc
    finally:
        conn.close()
    return Response(url, address, answer.status, got, data, info)


def get_following(url: str, *, max_redirects: int = 5, **options: Any) -> Response:
    """GET, following redirects as homeservers do (at most `max_redirects`, https only);
    the answer records the chain it followed."""
    chain: list[str] = []
    for _ in range(max_redirects + 1):
        response = request(url, **options)
        location = response.header("location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            response.redirects = chain
            return response
        chain.append(url)
        url = urljoin(url, location)
        if urlsplit(url).scheme != "https":
            raise FetchError("http", f"{chain[-1]} redirects to {url}, which is not https")
    raise FetchError("http", f"more than {max_redirects} redirects from {chain[0]}")


def old_tls_accepted(address: str, port: int, sni: str, timeout: float = 5.0) -> str | None:
    """'TLSv1'/'TLSv1.1' when the server completes a handshake at that version, else None."""
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            with warnings.catch_warnings():  # deprecated versions, asked for on purpose
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = version
                context.maximum_version = version
            with (
                socket.create_connection((address, port), timeout=timeout) as raw,
                context.wrap_socket(raw, server_hostname=sni) as sock,
            ):
                return sock.version()
        except (OSError, ValueError):
            continue
    return None


def now() -> float:
    return time.time()
