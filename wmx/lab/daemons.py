"""Background processes the lab starts on the machine (pebble, its DNS, host supervisors).

Each is started in its own session so that it outlives the `wmx lab up` that started it
and ignores the terminal's Ctrl-C, with a pid file and a log. A pid read back is trusted
only if /proc shows the same program with our marker argument (pids get reused).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wmx.lab import processes

# Daemons started by this process. Kept referenced so that Python neither warns about
# dropping a running child nor leaves exited ones as zombies in a long-lived process
# (a test session): each start reaps whatever has exited meanwhile.
_children: list[subprocess.Popen[bytes]] = []


@dataclass(frozen=True)
class Daemon:
    argv: Sequence[str]
    pidfile: Path
    logfile: Path
    # Arguments only this daemon's command line has (a config path, a host name, ...).
    markers: tuple[str, ...]
    # Basename argv[0] must have; None when it varies (python, python3, python3.11).
    program: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None

    def matches(self, argv: list[str]) -> bool:
        if self.program is not None and os.path.basename(argv[0]) != self.program:
            return False
        return all(marker in argv for marker in self.markers)

    def is_ours(self, pid: int) -> bool:
        """Same command line and, when we set one, same working directory.

        The working directory is under the lab's state directory, so it tells this lab's
        daemons from those of a lab with another state directory (pebble-challtestsrv's
        command line has nothing else that would).
        """
        argv = processes.cmdline(pid)
        if argv is None or not self.matches(argv):
            return False
        if self.cwd is None:
            return True
        try:
            return os.readlink(f"/proc/{pid}/cwd") == str(self.cwd)
        except OSError:
            return False

    def pid(self) -> int | None:
        pid = processes.read_pidfile(self.pidfile)
        if pid is None or not processes.alive_as(pid, self.matches):
            return None
        return pid if self.is_ours(pid) else None

    def find_all(self) -> list[int]:
        """Every running copy, pid file or not."""
        return [pid for pid in processes.find_pids(self.matches) if self.is_ours(pid)]

    def running(self) -> bool:
        return self.pid() is not None

    def start(self) -> subprocess.Popen[bytes]:
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        with self.logfile.open("ab") as log:
            proc = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env),
                cwd=self.cwd,
                start_new_session=True,
                close_fds=True,
            )
        processes.write_pidfile(self.pidfile, proc.pid)
        _children[:] = [child for child in _children if child.poll() is None]
        _children.append(proc)
        # Callers poll() it while waiting for readiness: right after the fork /proc still
        # shows our own command line, so pid() would wrongly call it someone else.
        return proc

    def stop(self, timeout: float = 10) -> None:
        """Stop it, and any stray copy a lost pid file no longer points at."""
        pids = set(self.find_all())
        pid = self.pid()
        if pid is not None:
            pids.add(pid)
        if pids:
            processes.stop_pids(pids, timeout)
        self.pidfile.unlink(missing_ok=True)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.logfile.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])
