"""A TURN Allocate over TLS (RFC 5766 with long-term credentials, RFC 5389 framing), with
the server's certificate checked against a CA bundle and the TURN name.

turnutils_uclient does the UDP checks; over TLS it picks a TLS version at random,
including 1.0 and 1.1, which wmx's coturn refuses, so it cannot prove TLS reliably.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import ssl
import struct
from dataclasses import dataclass
from typing import Any

MAGIC_COOKIE = 0x2112A442
ALLOCATE_REQUEST = 0x0003
ALLOCATE_SUCCESS = 0x0103
ALLOCATE_ERROR = 0x0113
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE = 0x0006, 0x0008, 0x0009
REALM, NONCE, XOR_RELAYED_ADDRESS = 0x0014, 0x0015, 0x0016
REQUESTED_TRANSPORT = 0x0019
UDP = 17


@dataclass(frozen=True)
class Allocation:
    relay_address: str
    relay_port: int
    tls_version: str
    peer_name: str  # the certificate's subject common name


class TurnError(Exception):
    pass


def _attribute(kind: int, value: bytes) -> bytes:
    padding = b"\0" * (-len(value) % 4)
    return struct.pack("!HH", kind, len(value)) + value + padding


def _message(kind: int, transaction: bytes, attributes: bytes) -> bytes:
    return struct.pack("!HHI", kind, len(attributes), MAGIC_COOKIE) + transaction + attributes


def _with_integrity(kind: int, transaction: bytes, attributes: bytes, key: bytes) -> bytes:
    # The HMAC covers the message up to MESSAGE-INTEGRITY, its length already counting it.
    head = struct.pack("!HHI", kind, len(attributes) + 24, MAGIC_COOKIE) + transaction
    digest = hmac.new(key, head + attributes, hashlib.sha1).digest()
    return _message(kind, transaction, attributes + _attribute(MESSAGE_INTEGRITY, digest))


def _read(sock: ssl.SSLSocket) -> tuple[int, dict[int, bytes]]:
    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise TurnError("the server closed the connection")
            data += chunk
        return data

    kind, length, _cookie = struct.unpack("!HHI", exactly(8))
    body = exactly(12 + length)[12:]
    attributes: dict[int, bytes] = {}
    offset = 0
    while offset < len(body):
        attr, size = struct.unpack("!HH", body[offset : offset + 4])
        attributes[attr] = body[offset + 4 : offset + 4 + size]
        offset += 4 + size + (-size % 4)
    return kind, attributes


def _error(attributes: dict[int, bytes]) -> str:
    raw = attributes.get(ERROR_CODE, b"\0\0\0\0")
    return f"{raw[2] * 100 + raw[3]} {raw[4:].decode(errors='replace')}"


def allocate_over_tls(
    address: str, port: int, server_name: str, cafile: str, username: str, password: str
) -> Allocation:
    """Allocate a UDP relay over TLS: the unauthenticated request earns a realm and nonce,
    the signed one a relayed address."""
    context = ssl.create_default_context(cafile=cafile)
    transport = (REQUESTED_TRANSPORT, bytes([UDP, 0, 0, 0]))
    with (
        socket.create_connection((address, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as sock,
    ):
        sock.sendall(_message(ALLOCATE_REQUEST, os.urandom(12), _attribute(*transport)))
        kind, attributes = _read(sock)
        if kind != ALLOCATE_ERROR or REALM not in attributes or NONCE not in attributes:
            raise TurnError(f"expected a 401 challenge, got {kind:#06x} {_error(attributes)}")
        realm = attributes[REALM]
        key = hashlib.md5(username.encode() + b":" + realm + b":" + password.encode()).digest()
        signed = (
            _attribute(*transport)
            + _attribute(USERNAME, username.encode())
            + _attribute(REALM, realm)
            + _attribute(NONCE, attributes[NONCE])
        )
        sock.sendall(_with_integrity(ALLOCATE_REQUEST, os.urandom(12), signed, key))
        kind, attributes = _read(sock)
        if kind != ALLOCATE_SUCCESS:
            raise TurnError(f"allocation refused: {_error(attributes)}")
        relayed = attributes[XOR_RELAYED_ADDRESS]
        relay_port = struct.unpack("!H", relayed[2:4])[0] ^ (MAGIC_COOKIE >> 16)
        relay_ip = struct.unpack("!I", relayed[4:8])[0] ^ MAGIC_COOKIE
        peer: Any = sock.getpeercert()  # ssl's nested tuples: ((("commonName", name),), …)
        subject = dict(item[0] for item in peer["subject"])
        return Allocation(
            relay_address=socket.inet_ntoa(struct.pack("!I", relay_ip)),
            relay_port=relay_port,
            tls_version=sock.version() or "",
            peer_name=str(subject.get("commonName", "")),
        )
