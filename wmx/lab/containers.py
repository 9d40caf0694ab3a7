"""Running one lab host: its nspawn command, its supervisor, entering it, stopping it.

`Lab` (wmx/lab/lab.py) decides which hosts should run; this module starts, enters, waits
for and stops one, always from what the kernel reports about its processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import wmx
from wmx.lab import addressing, commands, hostrelease, network, processes, wheelhouse
from wmx.lab.daemons import Daemon
from wmx.lab.errors import LabError
from wmx.lab.paths import LabPaths

log = logging.getLogger(__name__)

BOOT_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
DOWN_GRACE = 3.0


def nspawn_argv(paths: LabPaths, name: str) -> list[str]:
    return [
        *hostrelease.nspawn_env(paths.host_root(name)),
        "systemd-nspawn",
        "--boot",
        f"--directory={paths.host_root(name)}",
        f"--machine={name}",
        # The machine's PID 1 is not systemd: there is no machined to register with and
        # no unit to move into.
        "--register=no",
        "--keep-unit",
        f"--network-namespace-path={network.NETNS_DIR / addressing.netns_name(name)}",
        # Boot messages go to the host's log, for when it does not come up.
        "--console=read-only",
        "--resolv-conf=off",
        "--timezone=off",
        "--link-journal=no",
        # Only in the host's own network namespace: lets deploys manage its firewall.
        "--capability=CAP_NET_ADMIN",
        f"--bind={paths.apt_archives_for(name)}:/var/cache/apt/archives",
        f"--bind={paths.pip_cache}:/root/.cache/pip",
        f"--bind={paths.wheelhouse}:{wheelhouse.IN_HOST}",
    ]


def supervisor(paths: LabPaths, name: str) -> Daemon:
    state_dir = str(paths.state_dir)
    package_parent = str(Path(wmx.__file__).resolve().parent.parent)
    return Daemon(
        argv=[sys.executable, "-m", "wmx.lab.supervisor", name, "--state-dir", state_dir],
        pidfile=paths.supervisor_pidfile(name),
        logfile=paths.host_log(name),
        markers=("wmx.lab.supervisor", name, state_dir),
        # The supervisor must import this same wmx, installed or not.
        env=commands.clean_env({"PYTHONPATH": package_parent}),
        cwd=paths.state_dir,
    )


def ensure_started(paths: LabPaths, name: str) -> int | None:
    """Start ``name`` under a supervisor unless it runs; the new supervisor's pid."""
    daemon = supervisor(paths, name)
    if daemon.running():
        return None
    # A container without its supervisor (the supervisor was killed) would not come back
    # from a reboot: stop it and start again properly.
    stop_hosts(paths, [name])
    return daemon.start().pid


def stop_hosts(paths: LabPaths, names: Sequence[str], timeout: float = STOP_TIMEOUT) -> None:
    """Power hosts off cleanly, all at once; kill what is left after ``timeout``."""
    roots = {name: paths.host_root(name) for name in names}
    for name, root in roots.items():
        supervisor_pid = supervisor(paths, name).pid()
        if supervisor_pid is not None:
            # The supervisor passes SIGTERM to nspawn: a clean poweroff, no restart.
            processes.signal_pids([supervisor_pid], signal.SIGTERM)
        else:
            leader = processes.container_leader(root)
            if leader is not None:
                # What `systemctl poweroff` does: SIGRTMIN+3 to the container's systemd.
                processes.signal_pids([leader], signal.SIGRTMIN + 3)
    deadline = time.monotonic() + timeout
    for name, root in roots.items():
        leftovers = host_pids(paths, name, root)
        leftovers = processes.wait_gone(leftovers, max(0.0, deadline - time.monotonic()))
        if leftovers:
            log.warning("%s did not power off in time; killing it", name)
            # Killing a pid namespace's init kills everything in it.
            processes.stop_pids(leftovers, timeout=5, signum=signal.SIGKILL)
        supervisor(paths, name).stop(timeout=5)


def host_pids(paths: LabPaths, name: str, root: Path) -> list[int]:
    """Every machine process belonging to host ``name``: container, nspawn, supervisor."""
    directory_arg = f"--directory={root}"
    pids = set(processes.processes_rooted_at(root))
    pids |= set(
        processes.find_pids(
            lambda argv: os.path.basename(argv[0]) == "systemd-nspawn" and directory_arg in argv
        )
    )
    pids |= set(supervisor(paths, name).find_all())
    return sorted(pids)


def run_in(
    paths: LabPaths,
    name: str,
    argv: Sequence[str],
    check: bool,
    input: str | None,
    timeout: float | None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as root inside host ``name`` (nsenter: works without sshd)."""
    leader = processes.container_leader(paths.host_root(name))
    if leader is None:
        raise LabError(f"{name} is not running")
    full = [
        "nsenter", f"--target={leader}",
        "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--root", "--wd",
        "--", *argv,
    ]  # fmt: skip
    try:
        proc = subprocess.run(
            full,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=commands.clean_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise LabError(f"{shlex.join(argv)} on {name} took longer than {timeout} s") from error
    result = subprocess.CompletedProcess(list(argv), proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(
            f"{shlex.join(argv)} on {name} failed with exit status {proc.returncode}"
            + (f": {detail[-1]}" if detail else "")
        )
    return result


def wait_ssh(paths: LabPaths, host: addressing.LabHost, probe: list[str], timeout: float) -> None:
    """Wait until ``probe`` (an ssh command running `true` on ``host``) succeeds."""
    root = paths.host_root(host.name)
    deadline = time.monotonic() + timeout
    down_since: float | None = None
    while time.monotonic() < deadline:
        supervised = supervisor(paths, host.name).running()
        running = supervised or processes.container_leader(root) is not None
        now = time.monotonic()
        down_since = None if running else (down_since or now)
        # A supervisor forked a moment ago does not look like one yet, so only a host
        # that stays down for a few seconds is given up on, with the reason from its log
        # rather than a bare timeout much later.
        if down_since is not None and now - down_since > DOWN_GRACE:
            tail = _last_line(paths.host_log(host.name))
            raise LabError(
                f"{host.name} is not running (log: {paths.host_log(host.name)})"
                + (f": {tail}" if tail else "")
            )
        if _port_open(host.address, 22):
            result = subprocess.run(
                probe,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
                env=commands.clean_env(),
                check=False,
            )
            if result.returncode == 0:
                return
        time.sleep(0.3)
    raise LabError(
        f"{host.name} did not accept ssh within {timeout:.0f} s "
        f"(console log: {paths.host_log(host.name)})"
    )


def reboot(paths: LabPaths, name: str, timeout: float) -> float:
    """`systemctl reboot` inside ``name``; return the seconds left of ``timeout`` once
    its new init runs (the caller then waits for ssh)."""
    root = paths.host_root(name)
    before = processes.container_leader(root)
    if before is None:
        raise LabError(f"{name} is not running")
    # The command's own connection dies with the host, so its status means nothing.
    with contextlib.suppress(LabError):
        run_in(paths, name, ["systemctl", "reboot"], check=False, input=None, timeout=30)
    deadline = time.monotonic() + timeout
    while True:
        leader = processes.container_leader(root)
        if leader is not None and leader != before:
            return max(5.0, deadline - time.monotonic())
        if time.monotonic() > deadline:
            raise LabError(f"{name} did not come back after reboot")
        if not supervisor(paths, name).running():
            raise LabError(
                f"{name}'s supervisor exited during reboot (log: {paths.host_log(name)})"
            )
        time.sleep(0.2)


def _last_line(path: Path) -> str:
    """The last line nspawn or systemd printed that is not the supervisor's own chatter."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    useful = [ln.strip() for ln in lines if ln.strip() and "wmx-lab-supervisor" not in ln]
    return useful[-1] if useful else ""


def _port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False
