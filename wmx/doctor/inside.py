"""Checks from inside, as a careful operator makes them: each host's clock, disk and
memory (one SSH command per host), the live Synapse configuration, PostgreSQL's
collation, the backups and the signing key in them.

Hosts are reached as the rest of wmx reaches them (wmx.ssh: the inventory's Ansible
connection settings). `HostRunner` is the seam: it runs an argv on a host and returns
the completed process; tests run the same commands on this machine.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from wmx.doctor.checks import DEPLOY, Check, failed, passed
from wmx.site.grammars import NON_PUBLIC_RANGES, covered
from wmx.site.topology import HostView
from wmx.ssh.connection import run_as_root
from wmx.ssh.sums import Runner
from wmx.ssh.unreachable import SSH_FAILED, unreachable_message
from wmx.status.probe import stderr_cause

HostRunner = Runner  # runs an argv on a host (tests: on this machine)

MAX_CLOCK_OFFSET = 5.0  # seconds; Matrix signatures and TLS tolerate a little, not minutes
MAX_DISK_USED = 0.90
MIN_DISK_FREE = 1 << 30  # bytes
MIN_MEMORY_AVAILABLE = 0.10
SYNAPSE_CONFIG = "/etc/matrix-synapse"
# The host's time, then its filesystems and memory, in one round trip.
FACTS_SCRIPT = (
    "date +%s.%N; echo ---; df -P -B1 / /var/lib 2>/dev/null; echo ---; cat /proc/meminfo"
)
# Synapse's configuration files as it reads them, except the one holding secrets.
CONFIG_SCRIPT = (
    f"for f in {SYNAPSE_CONFIG}/homeserver.yaml {SYNAPSE_CONFIG}/conf.d/*.yaml; do "
    'case "$f" in */secrets.yaml) continue;; esac; '
    '[ -f "$f" ] && { echo "### $f"; cat "$f"; }; done'
)


# Runs an argv as root on a host over SSH (the seam's production side).
ssh_runner = run_as_root


def local_runner(host: HostView, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Runs the command on this machine (tests; and a one-host site run on its host)."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


@dataclass(frozen=True)
class HostFacts:
    time_before: float  # this machine's clock around the command
    time_after: float
    host_time: float
    disks: list[tuple[str, int, int]]  # mount point, size, available (bytes)
    memory_total: int  # bytes
    memory_available: int


def parse_facts(stdout: str, before: float, after: float) -> HostFacts:
    sections = stdout.split("---\n")
    if len(sections) != 3:
        raise ValueError("unexpected output")
    host_time = float(sections[0].strip())
    disks: list[tuple[str, int, int]] = []
    for line in sections[1].splitlines()[1:]:
        words = line.split()
        if len(words) >= 6 and words[1].isdigit():
            entry = (words[5], int(words[1]), int(words[3]))
            if entry not in disks:
                disks.append(entry)
    memory = {}
    for line in sections[2].splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if parts and parts[0].isdigit():
            memory[key] = int(parts[0]) * 1024
    return HostFacts(
        before, after, host_time, disks, memory.get("MemTotal", 0), memory.get("MemAvailable", 0)
    )


class HostUnreached(ValueError):
    """SSH itself failed: nothing on the host can be checked."""


def host_facts(host: HostView, run: HostRunner) -> HostFacts:
    before = time.time()
    proc = run(host, ["sh", "-c", FACTS_SCRIPT])
    after = time.time()
    if proc.returncode == SSH_FAILED:
        raise HostUnreached(unreachable_message(host, proc.stderr))
    if proc.returncode != 0:
        raise ValueError(stderr_cause(proc.stderr, "no answer"))
    return parse_facts(proc.stdout, before, after)


def clock_check(host: str, facts: HostFacts, limit: float = MAX_CLOCK_OFFSET) -> Check:
    """The host read its clock between our two readings: its offset lies between
    host - after and host - before. Fail only when that whole interval is beyond `limit`."""
    low, high = facts.host_time - facts.time_after, facts.host_time - facts.time_before
    title = f"Clock of {host} against this machine"
    if low > limit or high < -limit:
        offset = low if low > limit else high
        return failed(
            f"clock:{host}",
            title,
            f"{'ahead' if offset > 0 else 'behind'} by {abs(offset):.1f} s (at least)",
            f"run NTP on {host} (systemd-timesyncd or chrony: `timedatectl set-ntp true`) "
            "and on this machine; signatures and certificates fail when clocks differ",
            side="inside",
        )
    return passed(
        f"clock:{host}", title, f"within {limit:.0f} s ({low:+.2f}…{high:+.2f} s)", "inside"
    )


def disk_check(host: str, facts: HostFacts) -> Check:
    title = f"Disk space on {host}"
    if not facts.disks:
        return failed(f"disk:{host}", title, "df reported nothing", f"check {host}", "inside")
    worst = []
    for mount, size, available in facts.disks:
        used = 1 - available / size if size else 1.0
        if used >= MAX_DISK_USED or available < MIN_DISK_FREE:
            worst.append(f"{mount} {used:.0%} used, {available / (1 << 30):.1f} GiB free")
    if worst:
        return failed(
            f"disk:{host}",
            title,
            "; ".join(worst),
            "free space (old media: `wmx media delete --before 90d`, cached remote media: "
            "`wmx media purge-remote --older-than 30`, the journal: journalctl --vacuum-size) "
            "or grow the disk; PostgreSQL and Synapse stop when it is full",
            side="inside",
        )
    summary = ", ".join(f"{m} {a / (1 << 30):.1f} GiB free" for m, _, a in facts.disks)
    return passed(f"disk:{host}", title, summary, "inside")


def memory_check(host: str, facts: HostFacts) -> Check:
    title = f"Memory on {host}"
    if not facts.memory_total:
        return failed(f"memory:{host}", title, "no MemTotal", f"check {host}", "inside")
    ratio = facts.memory_available / facts.memory_total
    detail = f"{ratio:.0%} available of {facts.memory_total / (1 << 30):.1f} GiB"
    if ratio < MIN_MEMORY_AVAILABLE:
        return failed(
            f"memory:{host}",
            title,
            detail,
            "find what grew (`wmx status`); give the host more memory, or lower "
            "postgresql's memory_mb in the inventory and deploy",
            side="inside",
        )
    return passed(f"memory:{host}", title, detail, "inside")


def host_checks(host: HostView, run: HostRunner) -> list[Check]:
    """Clock, disk and memory of `host`; when SSH does not reach it, one failed check
    `ssh:HOST` instead (the doctor then leaves out every other check on that host)."""
    try:
        facts = host_facts(host, run)
    except HostUnreached as exc:
        return [
            failed(
                f"ssh:{host.name}",
                f"Reaching {host.name} over SSH",
                str(exc),
                f"every check on {host.name} waits on this: start the host (or its SSH "
                "server), or correct its ansible_host, ansible_user or key in inventory.yml",
                side="inside",
            )
        ]
    except (ValueError, OSError, subprocess.SubprocessError) as exc:
        return [
            failed(
                f"clock:{host.name}",
                f"Reaching {host.name} over SSH",
                str(exc),
                f"check that `wmx status` reaches {host.name}",
                side="inside",
            )
        ]
    return [
        clock_check(host.name, facts),
        disk_check(host.name, facts),
        memory_check(host.name, facts),
    ]


def read_synapse_config(host: HostView, run: HostRunner) -> dict[str, object]:
    """The live Synapse settings: homeserver.yaml, then conf.d/ on top (as Synapse merges
    them), without the secrets fragment, which is never read."""
    proc = run(host, ["sh", "-c", CONFIG_SCRIPT])
    if proc.returncode != 0 or "### " not in proc.stdout:
        cause = stderr_cause(proc.stderr, "no output")
        raise ValueError(f"cannot read {SYNAPSE_CONFIG} on {host.name}: {cause}")
    merged: dict[str, object] = {}
    for chunk in proc.stdout.split("### ")[1:]:
        name, _, text = chunk.partition("\n")
        try:
            data = YAML(typ="safe", pure=True).load(text)
        except YAMLError as exc:
            raise ValueError(
                f"{name} on {host.name} is not YAML: {exc.__class__.__name__}"
            ) from None
        if isinstance(data, dict):
            merged.update(data)
    return merged


def previews_check(config: Mapping[str, object], allowed: list[str]) -> Check:
    title = "Link previews cannot reach private addresses"
    fix = (
        "url_preview_ip_range_blacklist in /etc/matrix-synapse must cover every private "
        f"range (wmx renders it so: {DEPLOY}); allow one with synapse.url_previews.allow_ranges"
    )
    if not config.get("url_preview_enabled"):
        return passed("previews-blacklist", title, "previews are off", "inside")
    blacklist = config.get("url_preview_ip_range_blacklist") or []
    whitelist = config.get("url_preview_ip_range_whitelist") or []
    try:
        ranges = [str(ipaddress.ip_network(str(n), strict=False)) for n in blacklist]  # type: ignore[attr-defined]
        extra = [str(n) for n in whitelist if str(n) not in allowed]  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return failed(
            "previews-blacklist", title, "the blacklist is not a list of ranges", fix, "inside"
        )
    missing = [n for n in NON_PUBLIC_RANGES if not covered(ipaddress.ip_network(n), ranges)]
    if missing or extra:
        detail = []
        if missing:
            detail.append(f"blacklist misses {', '.join(missing)}")
        if extra:
            detail.append(f"whitelist allows {', '.join(extra)}, which wmx.yaml does not")
        return failed("previews-blacklist", title, "; ".join(detail), fix, "inside")
    return passed(
        "previews-blacklist", title, f"previews on; {len(ranges)} ranges blocked", "inside"
    )


def federation_ranges_check(
    config: Mapping[str, object], allowed: list[str], federation: bool
) -> Check:
    """Synapse's own outbound requests (federation, push) stay off private networks except
    the ranges wmx.yaml allows (synapse.federation_allow_ranges, the lab's network)."""
    kind, title = "federation-ranges", "Federation cannot reach private addresses"
    fix = (
        "ip_range_blacklist and ip_range_whitelist in /etc/matrix-synapse: wmx blocks every "
        "non-public range and the site's own hosts, and allows only "
        f"synapse.federation_allow_ranges ({DEPLOY})"
    )
    blacklist = config.get("ip_range_blacklist")
    whitelist = config.get("ip_range_whitelist") or []
    try:
        ranges = (
            None
            if blacklist is None
            else [str(ipaddress.ip_network(str(n), strict=False)) for n in blacklist]  # type: ignore[attr-defined]
        )
        extra = [str(n) for n in whitelist if str(n) not in allowed]  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return failed(kind, title, "the ranges are not lists of networks", fix, "inside")
    detail = []
    if ranges is not None:
        missing = [n for n in NON_PUBLIC_RANGES if not covered(ipaddress.ip_network(n), ranges)]
        if missing:
            detail.append(f"ip_range_blacklist misses {', '.join(missing)}")
    if extra:
        detail.append(f"ip_range_whitelist allows {', '.join(extra)}, which wmx.yaml does not")
    if detail:
        return failed(kind, title, "; ".join(detail), fix, "inside")
    if not federation:
        return passed(kind, title, "federation is off", "inside")
    allows = f"; allowed: {', '.join(allowed)} (wmx.yaml)" if allowed else ""
    source = "Synapse's default blacklist" if ranges is None else f"{len(ranges)} ranges blocked"
    return passed(kind, title, source + allows, "inside")


def collation_check(host: HostView, database: str, run: HostRunner) -> Check:
    title = f"PostgreSQL collation of {database} on {host.name}"
    query = f"SELECT datcollate || ' ' || datctype FROM pg_database WHERE datname = '{database}'"
    proc = run(host, ["runuser", "-u", "postgres", "--", "psql", "-XAtc", query])
    answer = proc.stdout.strip()
    fix = (
        "Synapse needs the C collation (sorting and indexes): recreate the database from "
        "template0 with LC_COLLATE and LC_CTYPE 'C' and restore a backup into it "
        "(`wmx backup restore`)"
    )
    if proc.returncode != 0:
        # psql did not get an answer: PostgreSQL is down or refuses; the collation is unknown.
        return failed(
            "postgres-collation",
            title,
            stderr_cause(proc.stderr, f"psql status {proc.returncode}"),
            f"PostgreSQL on {host.name} does not answer: `wmx logs postgresql` says why; "
            "`wmx deploy` starts it",
            "inside",
        )
    if not answer:
        return failed("postgres-collation", title, f"no database {database}", fix, "inside")
    if answer != "C C":
        return failed("postgres-collation", title, f"collate/ctype {answer}", fix, "inside")
    return passed("postgres-collation", title, "C (collate and ctype)", "inside")
