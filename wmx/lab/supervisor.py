"""Keeps one lab host's container running across reboots.

`systemctl reboot` inside a host makes systemd-nspawn exit with status 133, and nothing
on this machine (PID 1 is not systemd) would start it again; this process does. Any other
exit, or SIGTERM to this process (which it passes on to nspawn, i.e. a clean poweroff),
ends it. Run as ``python -m wmx.lab.supervisor NAME --state-dir DIR``; the lab starts it
detached, with stdout and stderr in ``hosts/NAME.log``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from wmx.lab.hostrelease import nspawn_env
from wmx.lab.paths import LabPaths

NSPAWN_REBOOT_STATUS = 133
# A host that reboots this often is crash-looping; stop rather than spin.
MAX_QUICK_RESTARTS = 5
QUICK_WINDOW = 60.0


def boot_argv(argv: Sequence[str], root: Path | None) -> list[str]:
    """``argv`` (the boot spec's) with the environment prefix of the release that is on
    the host's disk now: a host moved in place from Debian 12 to 13 (`wmx upgrade os`)
    reboots into systemd 257, which needs the cgroup v2 tree that 252 did without."""
    if root is None or "systemd-nspawn" not in argv:
        return list(argv)
    return [*nspawn_env(root), *argv[list(argv).index("systemd-nspawn") :]]


class Supervisor:
    def __init__(self, host: str, nspawn_argv: Sequence[str], root: Path | None = None) -> None:
        self.host = host
        self.argv = list(nspawn_argv)
        self.root = root
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def handle_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            # nspawn turns SIGTERM into SIGRTMIN+3 for the container's systemd: poweroff.
            self.child.send_signal(signal.SIGTERM)
        _say(f"received signal {signum}, powering {self.host} off")

    def run(self) -> int:
        restarts: list[float] = []
        while not self.stopping:
            _say(f"starting {self.host}")
            argv = boot_argv(self.argv, self.root)
            self.child = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
            status = _wait(self.child)
            _say(f"systemd-nspawn exited with status {status}")
            if self.stopping or status != NSPAWN_REBOOT_STATUS:
                return 0 if status in (0, NSPAWN_REBOOT_STATUS) else status
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < QUICK_WINDOW] + [now]
            if len(restarts) > MAX_QUICK_RESTARTS:
                _say(f"{self.host} rebooted {len(restarts)} times within a minute; giving up")
                return 1
            _say(f"{self.host} rebooted; starting it again")
        return 0


def _wait(child: subprocess.Popen[bytes]) -> int:
    while True:
        try:
            return child.wait()
        except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for clarity
            continue


def _say(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"[wmx-lab-supervisor {stamp}] {message}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wmx.lab.supervisor")
    parser.add_argument("host")
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    paths = LabPaths(state_dir=args.state_dir)
    spec = json.loads(paths.host_boot_spec(args.host).read_text(encoding="utf-8"))
    supervisor = Supervisor(args.host, [str(a) for a in spec["argv"]], paths.host_root(args.host))
    signal.signal(signal.SIGTERM, supervisor.handle_stop)
    signal.signal(signal.SIGINT, supervisor.handle_stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # Written by the supervisor itself, so it is right even if state.json is stale.
    pidfile = paths.supervisor_pidfile(args.host)
    pidfile.write_text(f"{os.getpid()}\n", encoding="ascii")
    try:
        return supervisor.run()
    finally:
        if pidfile.exists() and pidfile.read_text(encoding="ascii").strip() == str(os.getpid()):
            pidfile.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
