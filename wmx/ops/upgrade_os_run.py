"""The long steps of `wmx upgrade os` on the host: the package upgrade, run detached from
the SSH connection with progress lines, and the reboot.

The full upgrade takes minutes and restarts sshd, systemd and the C library under the
session that started it; a connection that drops must not kill apt halfway. So the script
runs as a transient systemd unit (`systemd-run`), writes its output to a log on the host
and its exit status to a file when it ends, and wmx polls both over fresh connections,
saying how far apt has got.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable

from wmx.errors import WmxError
from wmx.ops.upgrade_host import remote
from wmx.site.topology import HostView
from wmx.ssh import connection

Say = Callable[[str], None]
UNIT = "wmx-upgrade-os"
STATE_DIR = "/var/lib/wmx/upgrade-os"
LOG = f"{STATE_DIR}/log"
POLL_EVERY = 10.0
SAY_EVERY = 60.0
# From the moment openssh-server's new files are unpacked until its postinst restarts sshd,
# new SSH connections to a bookworm host are reset (Debian bugs 1109742, 1110030); during
# systemd's re-exec, systemctl cannot be asked. Both last minutes on a slow host, and the
# upgrade goes on meanwhile: wmx waits this long without an answer before it gives up.
UNANSWERED_FOR = 1200.0
# A unit seen gone without an exit status is the end only when polls this many in a row
# say so: the status file is written just before the unit ends, so one poll can fall
# between the two.
ENDED_POLLS = 3


def start_script(script: str) -> str:
    """Write ``script`` to the host and start it as the transient unit UNIT, its output in
    LOG and its exit status in STATE_DIR/status once it ends."""
    return (
        "set -eu\n"
        f"mkdir -p {STATE_DIR}\n"
        f"rm -f {STATE_DIR}/status {LOG}\n"
        f"cat > {STATE_DIR}/run.sh <<'WMX_UPGRADE_OS_EOF'\n{script}WMX_UPGRADE_OS_EOF\n"
        f"cat > {STATE_DIR}/wrap.sh <<'WMX_UPGRADE_OS_EOF'\n"
        f"sh {STATE_DIR}/run.sh > {LOG} 2>&1\n"
        f"echo $? > {STATE_DIR}/status.new\n"
        f"mv {STATE_DIR}/status.new {STATE_DIR}/status\n"
        "WMX_UPGRADE_OS_EOF\n"
        f"systemctl reset-failed {UNIT}.service 2>/dev/null || true\n"
        f"systemd-run --quiet --unit={UNIT} --property=Type=exec /bin/sh {STATE_DIR}/wrap.sh\n"
    )


POLL = f"""\
if [ -s {STATE_DIR}/status ]; then echo "status=$(cat {STATE_DIR}/status)"; \
else echo "active=$(systemctl is-active {UNIT}.service 2>/dev/null || true)"; fi
echo "unpacked=$(grep -c '^Unpacking ' {LOG} 2>/dev/null || true)"
echo "setup=$(grep -c '^Setting up ' {LOG} 2>/dev/null || true)"
"""


def parse_poll(text: str) -> dict[str, str]:
    return dict(ln.split("=", 1) for ln in text.splitlines() if "=" in ln)


def progress_line(state: dict[str, str]) -> str:
    return (
        f"apt: {state.get('unpacked') or 0} package(s) unpacked, {state.get('setup') or 0} set up"
    )


def reading(state: dict[str, str]) -> str:
    """What one poll says: 'done', 'failed', 'running', 'ended' (the unit is gone and left
    no exit status) or 'unknown' (systemd could not be asked)."""
    if "status" in state:
        return "done" if state["status"].strip() == "0" else "failed"
    active = state.get("active", "").strip()
    if active in ("active", "activating", "deactivating", "reloading"):
        return "running"
    if active in ("inactive", "failed"):
        return "ended"
    return "unknown"


def run_detached(host: HostView, script: str, say: Say, timeout: float = 5400.0) -> None:
    """Run ``script`` on ``host`` detached from this connection; raise with the end of
    its log when it fails."""
    remote(host, start_script(script), timeout=120)
    deadline = time.monotonic() + timeout
    said = answered = time.monotonic()
    ended = 0
    while True:
        time.sleep(POLL_EVERY)
        now = time.monotonic()
        if now > deadline:
            raise WmxError(f"the package upgrade did not end within {int(timeout)} s")
        try:
            state = parse_poll(remote(host, POLL, timeout=60))
            seen = reading(state)
        except WmxError as exc:
            state, seen, why = {}, "unknown", str(exc)
        else:
            why = f"systemd could not be asked about unit {UNIT}"
        now = time.monotonic()  # after the poll, which may have waited its 60 s for SSH
        if seen == "unknown":
            ended = 0  # "three polls in a row": one unanswered between breaks the row
            if now - answered > UNANSWERED_FOR:
                raise WmxError(
                    f"no answer about the package upgrade for {int(now - answered)} s: {why}"
                )
            if now - said >= SAY_EVERY:
                silent = int(now - answered)
                say(f"no answer for {silent} s ({why}); the upgrade goes on on the host")
                said = now
            continue
        answered = now
        ended = ended + 1 if seen == "ended" else 0
        if seen == "done":
            say(progress_line(state) + ": done")
            return
        if seen == "failed":
            raise WmxError(
                f"the package upgrade failed (exit status {state['status'].strip()}; "
                f"log: {host.name}:{LOG}): {_tail(host)}"
            )
        if ended >= ENDED_POLLS:
            raise WmxError(
                f"the package upgrade stopped without an exit status (unit {UNIT}: "
                f"{state.get('active')}; log: {host.name}:{LOG}): {_tail(host)}"
            )
        if seen == "running" and now - said >= SAY_EVERY:
            say(progress_line(state))
            said = now


def _tail(host: HostView) -> str:
    try:
        return " | ".join(remote(host, f"tail -n 5 {LOG}", timeout=60).split("\n")).strip(" |")
    except WmxError as exc:
        return f"(log unreadable: {exc})"


# How a reboot is told: the kernel's boot_id (new at every boot of a kernel: a VM, bare
# metal) and PID 1's start time (field 22 of /proc/1/stat, clock ticks since the kernel
# booted: new when a container restarts on a kernel that keeps running, as the lab's hosts
# do). Either alone misses one: a container keeps the machine's boot_id, and on a VM PID 1
# starts the same few ticks after every boot.
BOOT_MARK = "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f22 /proc/1/stat"
Mark = tuple[str, str]


def parse_mark(text: str) -> tuple[Mark, list[str]]:
    """(boot_id, PID 1's start ticks) from BOOT_MARK's output, and the words after them;
    ValueError when the output is not that."""
    words = text.split()
    try:
        boot_id = str(uuid.UUID(words[0]))
    except (IndexError, ValueError):
        boot_id = ""
    if not boot_id or len(words) < 2 or not words[1].isdigit():
        raise ValueError(f"not a boot_id and PID 1's start time: {text[:100]!r}")
    return (boot_id, words[1]), words[2:]


def booted_anew(before: Mark, now: Mark) -> bool:
    """Whether the host booted since `before` was read: either half of the mark changed."""
    return now != before


def reboot(host: HostView, release: str, say: Say, timeout: float = 600.0) -> None:
    """Reboot ``host``; return once it runs again, booted anew, on Debian ``release``."""
    try:
        before, _ = parse_mark(remote(host, BOOT_MARK, timeout=60))
    except ValueError as exc:
        raise WmxError(f"{host.name}: cannot tell its boot apart ({exc})") from None
    argv = connection(host).command(["sh", "-c", "sleep 1; systemctl reboot"])
    # The connection drops as the host goes down: its end says nothing.
    subprocess.run(argv, capture_output=True, timeout=60, check=False)
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(3)
        try:
            mark, (seen,) = parse_mark(
                remote(host, f"{BOOT_MARK}; . /etc/os-release; echo $VERSION_CODENAME", timeout=30)
            )
        except (WmxError, ValueError):
            mark, seen = before, ""
        if booted_anew(before, mark):
            break
        if time.monotonic() > deadline:
            raise WmxError(f"{host.name} did not come back within {int(timeout)} s")
    if seen != release:
        raise WmxError(f"{host.name} came back running Debian {seen}, not {release}")
    say(f"{host.name} is back, on Debian {seen}")
