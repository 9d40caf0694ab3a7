"""SRV lookups through the doctor's own small DNS client, against a real UDP nameserver
started here (it answers SRV records with name compression, and NXDOMAIN)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from wmx.doctor.dns import DnsError, SrvRecord, addresses, srv_records

ZONE = {
    "_matrix-fed._tcp.example.test": [(10, 5, 8448, "matrix.example.test"), (5, 0, 443, "a.b.test")]
}


def _question_end(message: bytes) -> int:
    offset = 12
    while message[offset]:
        offset += message[offset] + 1
    return offset + 5


def _name(text: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in text.split(".")) + b"\0"


def answer(query: bytes, refuse: bool = False) -> bytes:
    ident = query[:2]
    end = _question_end(query)
    labels, offset = [], 12
    while query[offset]:
        labels.append(query[offset + 1 : offset + 1 + query[offset]].decode())
        offset += query[offset] + 1
    records = ZONE.get(".".join(labels))
    rcode = 2 if refuse else (0 if records else 3)
    out = ident + struct.pack("!5H", 0x8180 | rcode, 1, len(records or []), 0, 0) + query[12:end]
    for priority, weight, port, target in records or []:
        rdata = struct.pack("!3H", priority, weight, port) + _name(target)
        # The owner name as a pointer to the question (offset 12): compression.
        out += struct.pack("!HHHIH", 0xC00C, 33, 1, 300, len(rdata)) + rdata
    return out


@contextmanager
def udp_nameserver(
    address: tuple[str, int], reply: Callable[[bytes], bytes | None]
) -> Iterator[tuple[str, int]]:
    """A nameserver on `address` (port 0: any) that answers each query with `reply`'s
    message, or not at all when it returns None; yields the address it listens on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                query, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            message = reply(query)
            if message is not None:
                sock.sendto(message, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()
    finally:
        stop.set()
        thread.join()
        sock.close()


@pytest.fixture
def nameserver() -> Iterator[tuple[str, int]]:
    with udp_nameserver(("127.0.0.1", 0), lambda q: answer(q, refuse=b"refuse" in q)) as bound:
        yield bound


def test_srv_records_are_read_and_ordered(nameserver: tuple[str, int]) -> None:
    assert srv_records("_matrix-fed._tcp.example.test", nameserver) == [
        SrvRecord(5, 0, 443, "a.b.test"),
        SrvRecord(10, 5, 8448, "matrix.example.test"),
    ]


def test_a_name_without_records_has_none(nameserver: tuple[str, int]) -> None:
    assert srv_records("_matrix-fed._tcp.nothing.test", nameserver) == []


def test_a_refusing_or_silent_nameserver_is_an_error(nameserver: tuple[str, int]) -> None:
    with pytest.raises(DnsError, match="error code 2"):
        srv_records("refuse.test", nameserver)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    with silent, pytest.raises(DnsError, match="did not answer"):
        srv_records("x.test", silent.getsockname(), timeout=0.3)


def test_addresses_come_from_the_system_resolver() -> None:
    assert addresses("127.0.0.1") == ["127.0.0.1"]
    assert addresses("localhost")
    assert addresses("no-such-name.invalid") == []
