"""The doctor's judgements that need no server: server discovery as the specification
orders it, the release rule, clocks, disk, memory, live preview settings, backups."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest

from wmx.doctor.backups import HOST_PROGRAM, fresh_check, signing_key_check
from wmx.doctor.discovery import WellKnown, resolve_federation, split_host_port
from wmx.doctor.dns import DnsError, SrvRecord
from wmx.doctor.inside import (
    FACTS_SCRIPT,
    HostFacts,
    clock_check,
    disk_check,
    federation_ranges_check,
    local_runner,
    memory_check,
    parse_facts,
    previews_check,
)
from wmx.doctor.release import release_check
from wmx.site.grammars import NON_PUBLIC_RANGES
from wmx.site.topology import HostView

GIB = 1 << 30


def delegated(value: object) -> WellKnown:
    return WellKnown("https://x/.well-known/matrix/server", document={"m.server": value})


def no_srv(name: str) -> list[SrvRecord]:
    return []


def test_split_host_port() -> None:
    assert split_host_port("a.test") == ("a.test", None)
    assert split_host_port("a.test:8448") == ("a.test", 8448)
    assert split_host_port("[::1]:443") == ("::1", 443)
    for bad in ("a.test:", "a.test:99999", ":443", "[nope]:1"):
        with pytest.raises(ValueError):
            split_host_port(bad)


def test_discovery_follows_the_specifications_order() -> None:
    srv = {"_matrix-fed._tcp.hs.test": [SrvRecord(0, 0, 9000, "box.test.")]}

    def lookup(name: str) -> list[SrvRecord]:
        return srv.get(name, [])

    # An explicit port in the server name wins over everything.
    assert (
        resolve_federation("ex.test:1234", delegated("hs.test:443"), lookup).text == "ex.test:1234"
    )
    # .well-known with a port: that host and port; TLS for the delegated name.
    endpoint = resolve_federation("ex.test", delegated("hs.test:443"), lookup)
    assert (endpoint.text, endpoint.tls_name, endpoint.host_header) == (
        "hs.test:443", "hs.test", "hs.test:443")  # fmt: skip
    # .well-known without a port: the delegated name's SRV, TLS still for that name.
    endpoint = resolve_federation("ex.test", delegated("hs.test"), lookup)
    assert (endpoint.text, endpoint.tls_name) == ("box.test:9000", "hs.test")
    # No .well-known: SRV of the server name, else port 8448.
    srv["_matrix-fed._tcp.ex.test"] = [SrvRecord(0, 0, 8449, "fed.test")]
    assert resolve_federation("ex.test", None, lookup).text == "fed.test:8449"
    assert resolve_federation("other.test", None, lookup).text == "other.test:8448"
    broken = resolve_federation("ex.test", delegated("hs.test:notaport"), lookup)
    assert broken.problems == [".well-known m.server 'hs.test:notaport' is not host[:port]"]


def test_a_failed_srv_lookup_is_reported() -> None:
    def failing(name: str) -> list[SrvRecord]:
        raise DnsError("nameserver 10.0.0.1 did not answer (timed out)")

    endpoint = resolve_federation("ex.test", None, failing)
    assert endpoint.text == "ex.test:8448"
    assert "did not answer" in endpoint.problems[0]


@pytest.mark.parametrize(
    ("deployed", "ok", "words"),
    [
        ("1.120.2", True, "is the newest"),
        ("1.120.1", True, "a patch release"),
        ("1.120.0", False, "2 releases behind 1.120.2"),
        ("1.119.9", False, "3 releases behind"),
        ("1.118.0", False, "4 releases behind"),
    ],
)
def test_more_than_one_security_release_behind_fails(deployed: str, ok: bool, words: str) -> None:
    versions = ["1.118.0", "1.119.9", "1.120.0rc1", "1.120.0", "1.120.1", "1.120.2", "2.0.0rc1"]
    check = release_check(deployed, versions)
    assert check.ok is ok
    assert words in check.detail


def test_one_newer_minor_release_is_more_than_a_security_release() -> None:
    check = release_check("1.119.9", ["1.119.9", "1.120.0"])
    assert not check.ok and check.detail == "1.119.9 is 1 release behind 1.120.0"
    assert not release_check("nonsense", ["1.0.0"]).ok


def test_a_release_the_server_did_not_say_is_named_as_wmx_yaml_s_pin() -> None:
    """The host not reached: the check compares wmx.yaml's synapse.version and says so
    (it had passed as "1.163.2 is the newest", as if the server had said it)."""
    check = release_check("1.120.2", ["1.120.1", "1.120.2"], pinned=True)
    assert check.ok
    assert check.detail == (
        "wmx.yaml's synapse.version 1.120.2 (the server did not say its release) is the newest"
    )


def test_clock_offset_counts_only_beyond_the_round_trip() -> None:
    now = time.time()
    base: dict[str, Any] = {"disks": [], "memory_total": 0, "memory_available": 0}
    good = HostFacts(now, now + 2.0, now + 6.0, **base)  # offset in [4, 6]: may be 4 s
    assert clock_check("lab1", good).ok
    ahead = HostFacts(now, now + 0.2, now + 30.0, **base)
    check = clock_check("lab1", ahead)
    assert not check.ok and check.id == "clock:lab1" and "ahead by 29.8 s" in check.detail
    behind = HostFacts(now, now + 0.2, now - 3600, **base)
    assert "behind by 3600" in clock_check("lab1", behind).detail


def test_facts_of_this_machine_are_read_with_the_script_hosts_run() -> None:
    host = HostView(name="here", address="127.0.0.1", groups=())
    before = time.time()
    proc = local_runner(host, ["sh", "-c", FACTS_SCRIPT])
    facts = parse_facts(proc.stdout, before, time.time())
    assert clock_check("here", facts).ok
    assert facts.disks and facts.disks[0][0] == "/"
    assert facts.memory_total > facts.memory_available > 0


def test_disk_and_memory_thresholds() -> None:
    now = time.time()
    roomy = HostFacts(now, now, now, [("/", 100 * GIB, 50 * GIB)], 8 * GIB, 4 * GIB)
    assert disk_check("h", roomy).ok and memory_check("h", roomy).ok
    full = HostFacts(now, now, now, [("/", 100 * GIB, 5 * GIB)], 8 * GIB, GIB // 2)
    assert "/ 95% used" in disk_check("h", full).detail
    assert not memory_check("h", full).ok and "6% available" in memory_check("h", full).detail
    tiny = HostFacts(now, now, now, [("/var/lib", 5 * GIB, GIB // 2)], 8 * GIB, 4 * GIB)
    assert not disk_check("h", tiny).ok


def test_live_preview_settings() -> None:
    assert previews_check({"url_preview_enabled": False}, []).detail == "previews are off"
    full = {"url_preview_enabled": True, "url_preview_ip_range_blacklist": list(NON_PUBLIC_RANGES)}
    assert previews_check(full, []).ok
    hole = dict(
        full, url_preview_ip_range_blacklist=[r for r in NON_PUBLIC_RANGES if r != "10.0.0.0/8"]
    )
    assert "blacklist misses 10.0.0.0/8" in previews_check(hole, []).detail
    allowed = dict(full, url_preview_ip_range_whitelist=["10.213.0.0/24"])
    assert previews_check(allowed, ["10.213.0.0/24"]).ok
    assert "whitelist allows 10.213.0.0/24" in previews_check(allowed, []).detail
    assert not previews_check({"url_preview_enabled": True}, []).ok


def test_live_federation_ranges() -> None:
    """Synapse's default blacklist holds unless wmx.yaml allows a range (the lab's)."""
    default = federation_ranges_check({}, [], True)
    assert default.ok and default.detail == "Synapse's default blacklist"
    lab = {"ip_range_whitelist": ["10.213.0.0/24"]}
    assert federation_ranges_check(lab, ["10.213.0.0/24"], True).ok
    assert "allowed: 10.213.0.0/24" in federation_ranges_check(lab, ["10.213.0.0/24"], True).detail
    stray = federation_ranges_check(lab, [], True)
    assert not stray.ok and "ip_range_whitelist allows 10.213.0.0/24" in stray.detail
    hole = {"ip_range_blacklist": [r for r in NON_PUBLIC_RANGES if r != "192.168.0.0/16"]}
    assert "misses 192.168.0.0/16" in federation_ranges_check(hole, [], True).detail
    assert federation_ranges_check({"ip_range_blacklist": list(NON_PUBLIC_RANGES)}, [], True).ok
    assert federation_ranges_check({}, [], False).detail == "federation is off"
    assert not federation_ranges_check({"ip_range_whitelist": "10.0.0.0/8"}, [], True).ok


def facts(**repos: Any) -> dict[str, Any]:
    live = {"key_id": "ed25519:a_x", "sha256": "1"}
    return {"live": live, "repositories": repos, "max_age": 90000, "last_success": time.time()}


def test_signing_key_must_be_the_live_one_in_every_repository() -> None:
    key = {"key_id": "ed25519:a_x", "sha256": "1"}
    assert signing_key_check(facts(local={"archive": "a1", "key": key})).ok
    missing = signing_key_check(facts(local={"archive": "a1", "key": None}))
    assert "a1 holds no signing key" in missing.detail
    other = signing_key_check(facts(local={"archive": "a1", "key": {**key, "sha256": "2"}}))
    assert "holds another key" in other.detail
    broken = signing_key_check(facts(remote={"error": "repository remote holds no archive"}))
    assert not broken.ok and "holds no archive" in broken.detail
    assert not signing_key_check({"live": None}).ok


def test_backups_must_be_younger_than_one_missed_run() -> None:
    now = time.time()
    assert fresh_check(facts(), now).ok
    stale = dict(facts(), last_success=now - 100000)
    assert "27.8 h ago" in fresh_check(stale, now).detail and not fresh_check(stale, now).ok
    assert not fresh_check(dict(facts(), last_success=None), now).ok


def test_the_host_program_is_valid_python() -> None:
    compile(HOST_PROGRAM, "wmx-doctor-backup", "exec")
    proc = subprocess.run(["python3", "-c", HOST_PROGRAM], capture_output=True, text=True)
    # Here, without the job's modules, it fails importing them (not on its own syntax).
    assert "wmx_agent" in proc.stderr


def test_a_port_counts_as_reachable_only_when_its_service_answers() -> None:
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from wmx.doctor.exposure import service_answers

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"# HELP up\n")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http = HTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    # A middlebox that accepts every connection and says nothing.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: refused
    try:
        assert service_answers("127.0.0.1", http.server_address[1], "metrics", timeout=2)
        assert not service_answers("127.0.0.1", silent.getsockname()[1], "metrics", timeout=0.5)
        assert not service_answers("127.0.0.1", silent.getsockname()[1], "postgres", timeout=0.5)
        assert not service_answers("127.0.0.1", closed.getsockname()[1], "http", timeout=0.5)
    finally:
        http.shutdown()
        silent.close()
        closed.close()
