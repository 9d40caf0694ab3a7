"""Name lookups as another homeserver makes them: addresses through the system's resolver
(so hosts files count, as they do for the lab), SRV records through a small DNS client
(the standard library has none), asking the nameserver of /etc/resolv.conf."""

from __future__ import annotations

import secrets
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

A = 1
SRV = 33
_NXDOMAIN = 3
# DNS response codes (RFC 1035, 4.1.1), as an operator looks them up.
_RCODES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


class DnsError(Exception):
    """The nameserver could not be asked, or did not answer usefully."""


@dataclass(frozen=True, order=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True)
class Resolution:
    """What the system's resolver said of a name: its addresses or, without any, whether
    the name does not exist (NXDOMAIN), or why no answer came (`failure`). None of these:
    the name exists without an A or AAAA record."""

    addresses: list[str]
    nxdomain: bool = False
    failure: str = ""


def resolve(
    name: str, port: int = 443, nameserver: tuple[str, int] | None = None, timeout: float = 3.0
) -> Resolution:
    """`addresses`, telling apart why there are none. glibc says "temporary failure" alike
    for a timeout, SERVFAIL and REFUSED; the nameserver (of /etc/resolv.conf unless
    `nameserver`) is then asked for the A record directly, to say which."""
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_NONAME:
            return Resolution([], nxdomain=True)
        if exc.errno == getattr(socket, "EAI_NODATA", None):
            return Resolution([])
        return Resolution([], failure=_why_unanswered(name, exc, nameserver, timeout))
    return Resolution(_ordered(infos))


def _why_unanswered(
    name: str, error: socket.gaierror, nameserver: tuple[str, int] | None, timeout: float
) -> str:
    server = nameserver or system_nameserver()
    try:
        rcode, _ = _ask(name, A, server, timeout)
    except DnsError as exc:
        return str(exc)
    if rcode in _RCODES:
        return f"nameserver {server[0]} answered {_RCODES[rcode]}"
    return f"the system's resolver failed ({error.strerror})"


def addresses(name: str, port: int = 443) -> list[str]:
    """IPv4 and IPv6 addresses of `name` (A and AAAA, or a hosts file), IPv4 first."""
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return _ordered(infos)


def _ordered(infos: list[tuple[Any, Any, Any, Any, Any]]) -> list[str]:
    found: list[str] = []
    for family, _, _, _, sockaddr in sorted(infos, key=lambda i: i[0] != socket.AF_INET):
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in found:
            found.append(str(sockaddr[0]))
    return found


def system_nameserver(resolv_conf: Path = Path("/etc/resolv.conf")) -> tuple[str, int]:
    try:
        for line in resolv_conf.read_text().splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "nameserver":
                return words[1], 53
    except OSError:
        pass
    return "127.0.0.1", 53


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("idna")
        if not 0 < len(raw) < 64:
            raise DnsError(f"{name!r} is not a DNS name")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def _read_name(message: bytes, offset: int) -> tuple[str, int]:
    """A possibly compressed name at `offset`; returns it and the offset after it."""
    labels: list[str] = []
    end = None
    for _ in range(128):  # bounds compression loops
        length = message[offset]
        if length & 0xC0 == 0xC0:
            pointer = struct.unpack_from("!H", message, offset)[0] & 0x3FFF
            if end is None:
                end = offset + 2
            offset = pointer
            continue
        offset += 1
        if length == 0:
            return ".".join(labels), end if end is not None else offset
        labels.append(message[offset : offset + length].decode("ascii", "replace"))
        offset += length
    raise DnsError("malformed DNS answer (name)")


def parse_srv_answer(message: bytes, ident: int) -> list[SrvRecord]:
    try:
        got, flags, qdcount, ancount, _, _ = struct.unpack_from("!6H", message, 0)
        if got != ident:
            raise DnsError("DNS answer to another question")
        rcode = flags & 0xF
        if rcode == _NXDOMAIN:
            return []
        if rcode != 0:
            raise DnsError(f"the nameserver answered error code {rcode}")
        offset = 12
        for _ in range(qdcount):
            _, offset = _read_name(message, offset)
            offset += 4
        records = []
        for _ in range(ancount):
            _, offset = _read_name(message, offset)
            rtype, _, _, length = struct.unpack_from("!HHIH", message, offset)
            offset += 10
            if rtype == SRV:
                priority, weight, port = struct.unpack_from("!3H", message, offset)
                target, _ = _read_name(message, offset + 6)
                records.append(SrvRecord(priority, weight, port, target))
            offset += length
        return sorted(records)
    except (struct.error, IndexError) as exc:
        raise DnsError("malformed DNS answer") from exc


def srv_records(
    name: str, nameserver: tuple[str, int] | None = None, timeout: float = 3.0
) -> list[SrvRecord]:
    """The SRV records of `name` ([] when it has none); DnsError when nobody answers."""
    _, (ident, message) = _ask(name, SRV, nameserver or system_nameserver(), timeout)
    return parse_srv_answer(message, ident)


def _ask(
    name: str, rtype: int, server: tuple[str, int], timeout: float
) -> tuple[int, tuple[int, bytes]]:
    """One recursive query over UDP: the answer's response code, its id and the message;
    DnsError when no answer to it comes within `timeout`."""
    ident = secrets.randbelow(1 << 16)
    query = struct.pack("!6H", ident, 0x0100, 1, 0, 0, 0) + _encode_name(name)
    query += struct.pack("!HH", rtype, 1)
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(query, server)
            for _ in range(4):  # ignore stray datagrams
                message, _ = sock.recvfrom(65535)
                if message[:2] == query[:2] and len(message) >= 12:
                    return message[3] & 0xF, (ident, message)
        except TimeoutError:
            raise DnsError(f"nameserver {server[0]} did not answer within {timeout:g} s") from None
        except OSError as exc:
            raise DnsError(f"nameserver {server[0]} did not answer ({exc})") from exc
    raise DnsError(f"nameserver {server[0]} answered another question")
