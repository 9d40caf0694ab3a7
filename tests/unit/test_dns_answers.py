"""`wmx dns --check` says why a name has no address: the DNS answered without one, the
name does not exist (NXDOMAIN), or no answer came (a timeout, SERVFAIL, REFUSED), in
which case nothing was checked. glibc's resolver is asked for real: a child process in a
mount namespace of its own sees a resolv.conf that names a nameserver started here."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_root, require_tool
from tests.unit.test_doctor_dns import udp_nameserver

NAMESERVER = "127.0.0.2"  # resolv.conf takes no port: 53 on a loopback address of its own
ZONE = "dns-answers.test"
# name → (response code, A records, AAAA records); a name absent here gets no reply at all.
ANSWERS: dict[str, tuple[int, list[str], list[str]]] = {
    f"here.{ZONE}": (0, ["192.0.2.7"], []),
    f"elsewhere.{ZONE}": (0, ["192.0.2.9"], []),
    f"ipv6-only.{ZONE}": (0, [], ["2001:db8::7"]),
    f"no-address.{ZONE}": (0, [], []),
    f"missing.{ZONE}": (3, [], []),
    f"broken.{ZONE}": (2, [], []),
    f"refused.{ZONE}": (5, [], []),
}
SILENT = f"silent.{ZONE}"


def reply(query: bytes) -> bytes | None:
    labels, offset = [], 12
    while query[offset]:
        labels.append(query[offset + 1 : offset + 1 + query[offset]].decode())
        offset += query[offset] + 1
    qtype = struct.unpack_from("!H", query, offset + 1)[0]
    entry = ANSWERS.get(".".join(labels))
    if entry is None:
        return None
    rcode, v4, v6 = entry
    records = [socket.inet_aton(a) for a in v4] if qtype == 1 else []
    records += [socket.inet_pton(socket.AF_INET6, a) for a in v6] if qtype == 28 else []
    head = query[:2] + struct.pack("!5H", 0x8180 | rcode, 1, len(records), 0, 0)
    out = head + query[12 : offset + 5]
    for data in records:
        out += struct.pack("!HHHIH", 0xC00C, qtype, 1, 300, len(data)) + data
    return out


@pytest.fixture
def nameserver() -> Iterator[str]:
    require_root("a nameserver on port 53 and a mount namespace for resolv.conf")
    require_tool("unshare", hint="util-linux")
    with udp_nameserver((NAMESERVER, 53), reply):
        yield NAMESERVER


CHECK = """
import json, sys
from wmx.ops.dns import Record, check_records
found = check_records([Record(n, "A", "192.0.2.7", "test") for n in sys.argv[1:]])
print(json.dumps({f.record.name: [f.ok, f.detail] for f in found}))
"""


def check_in_namespace(tmp_path: Path, names: list[str]) -> dict[str, list[object]]:
    """check_records in a child whose /etc/resolv.conf names the test's nameserver."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {NAMESERVER}\n")
    script = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"'
    argv = ["unshare", "-m", "sh", "-c", script, "sh", str(resolv), sys.executable, "-c", CHECK]
    # glibc gives up after one second and one try (a silent nameserver costs that).
    env = {**os.environ, "RES_OPTIONS": "timeout:1 attempts:1"}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [*argv, *names], capture_output=True, text=True, env=env, cwd=root, check=True
    )
    result: dict[str, list[object]] = json.loads(done.stdout)
    return result


def test_each_reason_for_no_address_is_said(nameserver: str, tmp_path: Path) -> None:
    names = [*ANSWERS, SILENT]
    said = check_in_namespace(tmp_path, names)
    unanswered = f"not checked: nameserver {nameserver}"
    assert said == {
        f"here.{ZONE}": [True, "resolves here"],
        f"elsewhere.{ZONE}": [False, "points at 192.0.2.9, not here"],
        f"ipv6-only.{ZONE}": [False, "no A record"],
        f"no-address.{ZONE}": [False, "no A record"],
        f"missing.{ZONE}": [False, "no A record: no such name (NXDOMAIN)"],
        f"broken.{ZONE}": [False, f"{unanswered} answered SERVFAIL"],
        f"refused.{ZONE}": [False, f"{unanswered} answered REFUSED"],
        SILENT: [False, f"{unanswered} did not answer within 3 s"],
    }
