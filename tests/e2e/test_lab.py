"""The lab itself: real hosts that boot, talk to each other and the world, reboot, and go.

These tests stop and delete the whole lab. When hosts already run as this module starts
(another module's deployed site, or a developer's lab) the destructive tests skip rather
than pull the hosts out from under someone (under WMX_CI=1 they fail: CI's lab must be
free); set WMX_LAB_TESTS_MAY_DOWN=1 to run them anyway.
WMX_LAB_STATE_DIR and WMX_LAB_CACHE_DIR point the tests at a lab in other directories
(for running them inside a private network and mount namespace beside a lab in use).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import missing
from wmx.lab import DEFAULT_CACHE_DIR, DEFAULT_STATE_DIR, Lab, LabHost, acme, hostrelease
from wmx.lab import processes as lab_processes

pytestmark = pytest.mark.e2e

EXTRA_NAME = "lab-e2e.test"


def new_lab() -> Lab:
    return Lab(
        state_dir=Path(os.environ.get("WMX_LAB_STATE_DIR", DEFAULT_STATE_DIR)),
        cache_dir=Path(os.environ.get("WMX_LAB_CACHE_DIR", DEFAULT_CACHE_DIR)),
    )


@pytest.fixture(scope="module")
def lab_in_use() -> bool:
    if os.environ.get("WMX_LAB_TESTS_MAY_DOWN"):
        return False
    return any(host.running for host in new_lab().hosts())


@pytest.fixture(scope="module")
def two_hosts(lab_in_use: bool) -> Iterator[tuple[Lab, list[LabHost]]]:
    lab = new_lab()
    hosts = lab.up(2)
    yield lab, hosts
    if not lab_in_use and not os.environ.get("WMX_KEEP_LAB"):
        lab.down()


def ssh(lab: Lab, host: LabHost, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        lab.ssh_argv(host, list(command)),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_root_logs_in_over_ssh_with_the_lab_key_and_checked_host_keys(
    two_hosts: tuple[Lab, list[LabHost]],
) -> None:
    lab, hosts = two_hosts
    assert [h.name for h in hosts] == ["lab1", "lab2"]
    for host in hosts:
        # ssh_argv uses StrictHostKeyChecking=yes with the lab's known_hosts.
        result = ssh(lab, host, "hostname", "--fqdn")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == host.fqdn
    # Each host has its own ssh host key and machine-id, not the rootfs cache's.
    ids = {lab.run(h, ["cat", "/etc/machine-id"]).stdout for h in hosts}
    keys = {lab.run(h, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).stdout for h in hosts}
    assert len(ids) == len(keys) == 2


def test_hosts_run_systemd_as_on_a_vps(two_hosts: tuple[Lab, list[LabHost]]) -> None:
    lab, hosts = two_hosts
    state = lab.run(hosts[0], ["systemctl", "is-system-running", "--wait"], check=False)
    assert state.stdout.strip() in ("running", "degraded"), state
    assert lab.run(hosts[0], ["readlink", "/proc/1/exe"]).stdout.strip().endswith("systemd")


def test_a_host_resolves_and_reaches_another_by_its_lab_name(
    two_hosts: tuple[Lab, list[LabHost]],
) -> None:
    lab, (first, second) = two_hosts
    resolved = lab.run(first, ["getent", "hosts", second.fqdn]).stdout.split()
    assert resolved[0] == second.address
    banner = lab.run(
        first,
        [
            "python3",
            "-c",
            "import socket; s = socket.create_connection(('lab2.lab.test', 22), timeout=10);"
            " print(s.recv(64).decode().strip())",
        ],
    ).stdout
    assert banner.startswith("SSH-2.0-")


def test_hosts_reach_package_registries_over_https(two_hosts: tuple[Lab, list[LabHost]]) -> None:
    lab, hosts = two_hosts
    pypi = lab.run(
        hosts[1],
        ["curl", "-fsS", "-o", "/dev/null", "-w", "%{http_code}", "https://pypi.org/simple/pip/"],
    )
    assert pypi.stdout == "200"
    apt = lab.run(hosts[1], ["apt-get", "update"], check=False)
    assert apt.returncode == 0, apt.stderr
    assert "Err:" not in apt.stdout


def test_pebble_answers_over_https_verified_with_the_trust_bundle(
    two_hosts: tuple[Lab, list[LabHost]],
) -> None:
    lab, hosts = two_hosts
    context = ssl.create_default_context(cafile=str(lab.trust_bundle_path))
    with httpx.Client(verify=context, trust_env=False, timeout=10) as client:
        directory = client.get(lab.acme_directory).json()
    assert directory["newAccount"].startswith("https://acme.lab.test:14000/")
    # Hosts trust the lab CA too: certbot there talks to the same URL.
    on_host = lab.run(hosts[0], ["curl", "-fsS", lab.acme_directory]).stdout
    assert "newOrder" in json.loads(on_host)
    # And pebble's issuing root, which is what certificates it signs chain up to.
    pebble_root = Path(lab.trust_bundle_path).read_text().count("BEGIN CERTIFICATE")
    assert pebble_root >= 2
    bundle = lab.run(hosts[0], ["cat", "/etc/ssl/certs/ca-certificates.crt"]).stdout
    for pem in _pems(Path(lab.trust_bundle_path).read_text()):
        assert pem in bundle


def test_extra_names_resolve_on_the_machine_on_hosts_and_for_pebble(
    two_hosts: tuple[Lab, list[LabHost]],
) -> None:
    lab, (first, second) = two_hosts
    lab.set_names({EXTRA_NAME: second.name})
    assert socket.gethostbyname(EXTRA_NAME) == second.address
    assert lab.run(first, ["getent", "hosts", EXTRA_NAME]).stdout.split()[0] == second.address
    assert _query_a("10.213.0.1", 8053, EXTRA_NAME) == [second.address]
    lab.set_names({EXTRA_NAME: first.name})
    assert socket.gethostbyname(EXTRA_NAME) == first.address
    assert _query_a("10.213.0.1", 8053, EXTRA_NAME) == [first.address]
    assert lab.names()[EXTRA_NAME] == first.name
    lab.set_names({EXTRA_NAME: None})
    assert EXTRA_NAME not in lab.names()
    assert EXTRA_NAME not in Path("/etc/hosts").read_text()
    assert _query_a("10.213.0.1", 8053, EXTRA_NAME) == []


def test_up_again_keeps_running_hosts(two_hosts: tuple[Lab, list[LabHost]]) -> None:
    lab, hosts = two_hosts
    leaders = [_leader(lab, h) for h in hosts]
    again = lab.up(2)
    assert [h.name for h in again] == ["lab1", "lab2"] and all(h.running for h in again)
    assert [_leader(lab, h) for h in hosts] == leaders


def test_reboot_brings_the_host_back_with_sshd(two_hosts: tuple[Lab, list[LabHost]]) -> None:
    lab, hosts = two_hosts
    host = hosts[1]
    # /run is a fresh tmpfs at every boot: the marker tells a reboot from a no-op.
    lab.run(host, ["touch", "/run/wmx-e2e-before-reboot"])
    lab.reboot(host)
    assert ssh(lab, host, "true").returncode == 0
    gone = lab.run(host, ["test", "-e", "/run/wmx-e2e-before-reboot"], check=False)
    assert gone.returncode == 1
    # A second reboot proves the supervisor keeps restarting it, not just once.
    lab.reboot(host)
    assert ssh(lab, host, "hostname").stdout.strip() == host.name


def test_remove_deletes_one_host_and_up_recreates_it_fresh(
    two_hosts: tuple[Lab, list[LabHost]],
) -> None:
    lab, (first, second) = two_hosts
    lab.run(second, ["touch", "/root/from-before"])
    old_key = lab.run(second, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).stdout
    lab.remove(second)
    assert second.name not in [h.name for h in lab.hosts()]
    assert not lab.paths.host_root(second.name).exists()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"wmxv-{second.name}" not in links
    assert lab.run(first, ["hostname"]).stdout.strip() == first.name
    again = lab.up(2)[1]
    assert again.running
    assert lab.run(again, ["test", "-e", "/root/from-before"], check=False).returncode == 1
    assert lab.run(again, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).stdout != old_key
    # known_hosts was rewritten: strict host key checking accepts the new key.
    assert ssh(lab, again, "true").returncode == 0


def test_down_leaves_nothing_behind(two_hosts: tuple[Lab, list[LabHost]], lab_in_use: bool) -> None:
    if lab_in_use:
        missing("lab hosts were already running: not taking them down")
    lab, _ = two_hosts
    lab.down()
    _assert_clean(lab)
    # Keys, CA and the rootfs cache stay for the next `up`.
    assert lab.ssh_key_path.exists()
    assert lab.paths.rootfs(hostrelease.default_release()).is_dir()


def test_up_recovers_from_a_killed_run(
    two_hosts: tuple[Lab, list[LabHost]], lab_in_use: bool
) -> None:
    if lab_in_use:
        missing("lab hosts were already running: not killing them")
    lab, _ = two_hosts
    lab.up(2)
    # What a killed `wmx lab up` or a crashed machine session leaves: orphaned containers,
    # no supervisors, a dead pebble, stale pid files and state.
    for name in ("lab1", "lab2"):
        pid = lab_processes.read_pidfile(lab.paths.supervisor_pidfile(name))
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    pebble = lab_processes.read_pidfile(lab.paths.acme_dir / "pebble.pid")
    assert pebble is not None
    os.kill(pebble, signal.SIGKILL)
    hosts = lab.up(2)
    assert all(h.running for h in hosts)
    for host in hosts:
        assert ssh(lab, host, "true").returncode == 0
    # Supervised again: a reboot comes back.
    lab.reboot(hosts[0])
    context = ssl.create_default_context(cafile=str(lab.trust_bundle_path))
    assert httpx.get(lab.acme_directory, verify=context, trust_env=False).status_code == 200
    # And `down` after a killed run (supervisors gone again) still cleans everything.
    for name in ("lab1", "lab2"):
        pid = lab_processes.read_pidfile(lab.paths.supervisor_pidfile(name))
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    lab.down()
    _assert_clean(lab)


def _assert_clean(lab: Lab) -> None:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "wmx-lab" not in netns
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "wmxv-" not in links and "wmxlab0" not in links
    nft = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert "wmx_lab" not in nft
    mountinfo = Path("/proc/self/mountinfo").read_text()
    assert str(lab.paths.state_dir) not in mountinfo
    assert "wmx lab" not in Path("/etc/hosts").read_text()
    assert not lab.paths.hosts_dir.exists()
    assert lab.hosts() == []
    state_dir = str(lab.paths.state_dir)
    leftovers = lab_processes.find_pids(lambda argv: any(state_dir in arg for arg in argv))
    leftovers += acme.challtestsrv_daemon(lab.paths).find_all()
    assert leftovers == []


def _leader(lab: Lab, host: LabHost) -> int | None:
    return lab_processes.container_leader(lab.paths.host_root(host.name))


def _pems(text: str) -> list[str]:
    end = "-----END CERTIFICATE-----"
    return [part.strip() + "\n" + end for part in text.split(end) if "BEGIN" in part]


def _query_a(server: str, port: int, name: str) -> list[str]:
    """A records for ``name`` from the DNS server pebble validates with (a bare UDP query)."""
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query = struct.pack(">HHHHHH", 0x7E57, 0x0100, 1, 0, 0, 0) + question + b"\0\1\0\1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(query, (server, port))
        reply = sock.recv(512)
    answers = struct.unpack(">H", reply[6:8])[0]
    offset = 12 + len(question) + 4
    found = []
    for _ in range(answers):
        offset += 2 if reply[offset] & 0xC0 == 0xC0 else len(question)  # name (compressed)
        rtype, _cls, _ttl, length = struct.unpack(">HHIH", reply[offset : offset + 10])
        offset += 10
        if rtype == 1:
            found.append(socket.inet_ntoa(reply[offset : offset + length]))
        offset += length
    return found
