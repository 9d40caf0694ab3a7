"""Real servers for the doctor's outside checks: a test CA, HTTPS front ends on loopback
addresses (serving .well-known and passing /_matrix to Synapse, as wmx's nginx does),
and a real Synapse with its federation and key listeners."""

from __future__ import annotations

import datetime
import json
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.synapse_server import SERVER_NAME, TestSynapse, start_synapse
from wmx.site.secrets import Secrets

HOMESERVER = f"matrix.{SERVER_NAME}"
# Loopback addresses of the two names (all of 127/8 reaches lo on Linux).
ADDRESSES = {SERVER_NAME: "127.77.0.1", HOMESERVER: "127.77.0.2"}


class DoctorCA:
    """A CA and the certificates it signs (and, for faults, one nobody trusts)."""

    def __init__(self, directory: Path, name: str = "wmx doctor test CA") -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = directory / f"{name.replace(' ', '-')}.pem"
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def trust(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pem))

    def leaf(self, names: list[str], days: float = 90) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        stem = self.directory / f"{names[0]}-{x509.random_serial_number()}"
        cert_path, key_path = stem.with_suffix(".crt"), stem.with_suffix(".key")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_path, key_path


@dataclass
class Behaviour:
    """What a front end serves: .well-known documents, and /_matrix through to Synapse."""

    upstream: str
    server: object = None  # the m.server value; None: no .well-known/matrix/server
    client_base: str = f"https://{HOMESERVER}"
    content_type: str = "application/json"
    cors: bool = True
    redirect_well_known_to: str | None = None
    expose_admin: bool = False  # pass /_synapse/admin and /_synapse/metrics through
    tamper_keys: bool = False  # change a signed field of the key response
    seen: list[str] = field(default_factory=list)


class FrontEnd(BaseHTTPRequestHandler):
    server: FrontEndServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str) -> None:
        rule = self.server.behaviour
        rule.seen.append(f"{method} {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/.well-known/matrix/"):
            if rule.redirect_well_known_to:
                target = rule.redirect_well_known_to + self.path
                return self._send(302, b"", "text/plain", Location=target)
            kind = self.path.rsplit("/", 1)[1]
            document: object = (
                {"m.server": rule.server} if kind == "server" and rule.server is not None
                else {"m.homeserver": {"base_url": rule.client_base}} if kind == "client"
                else None
            )  # fmt: skip
            if document is None:
                return self._send(404, b"not found", "text/plain")
            extra = {"Access_Control_Allow_Origin": "*"} if rule.cors else {}
            return self._send(200, json.dumps(document).encode(), rule.content_type, **extra)
        hidden = self.path.startswith(("/_synapse/admin", "/_synapse/metrics"))
        if not self.path.startswith(("/_matrix", "/_synapse")) or (
            hidden and not rule.expose_admin
        ):
            # As wmx's nginx answers there (templates/nginx: the Matrix error JSON).
            unrecognized = b'{"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}'
            return self._send(404, unrecognized, "application/json")
        answer = httpx.request(
            method, rule.upstream + self.path, content=body, timeout=15,
            headers={"Content-Type": self.headers.get("Content-Type", "application/json")},
        )  # fmt: skip
        data = answer.content
        if rule.tamper_keys and self.path.startswith("/_matrix/key/v2/server"):
            keys = answer.json()
            keys["valid_until_ts"] += 1000
            data = json.dumps(keys).encode()
        self._send(answer.status_code, data, answer.headers.get("content-type", "application/json"))

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")


class FrontEndServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    behaviour: Behaviour


@contextmanager
def front_end(
    address: str, port: int, cert: tuple[Path, Path], behaviour: Behaviour, *, old_tls: bool = False
) -> Iterator[Behaviour]:
    """An HTTPS front end on address:port with `cert`, until the block ends."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    if old_tls:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
    server = FrontEndServer((address, port), FrontEnd)
    server.behaviour = behaviour
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield behaviour
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def start_federating_synapse(
    workdir: Path, secrets: Secrets, *, open_registration: bool = False
) -> TestSynapse:
    """The integration tier's Synapse, with its federation and key APIs on, and (for the
    registration fault) registration open without any verification."""

    def adjust(config: dict[str, Any]) -> None:
        config["listeners"][0]["resources"] = [
            {"names": ["client", "federation", "keys"], "compress": False}
        ]
        if open_registration:
            config["registration_requires_token"] = False
            config["enable_registration_without_verification"] = True

    return start_synapse(workdir, secrets, adjust=adjust)
