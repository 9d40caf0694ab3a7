"""Finding and stopping the lab's processes by what they are, not by what a file says.

Pid files and state.json can be stale after a killed run or a reboot of the machine, and
pids get reused; so every pid read from a file is checked against /proc/<pid>/cmdline, and
container processes are found by the directory they have as their root.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from wmx.lab.errors import LabError


def cmdline(pid: int) -> list[str] | None:
    """The argv of ``pid``, or None if it is gone (or a zombie without one)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    if not raw:
        return None
    return raw.rstrip(b"\0").decode("utf-8", "replace").split("\0")


def all_pids() -> Iterator[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def find_pids(matches: Callable[[list[str]], bool]) -> list[int]:
    """Pids whose argv satisfies ``matches`` (never our own)."""
    found = []
    for pid in all_pids():
        argv = cmdline(pid)
        if pid != os.getpid() and argv is not None and matches(argv):
            found.append(pid)
    return found


def alive_as(pid: int | None, matches: Callable[[list[str]], bool]) -> bool:
    """True if ``pid`` runs and its argv satisfies ``matches`` (guards against pid reuse)."""
    if pid is None or pid <= 0:
        return False
    argv = cmdline(pid)
    return argv is not None and matches(argv) and not _is_zombie(pid)


def read_pidfile(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError):
        return None


def write_pidfile(path: Path, pid: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{pid}\n", encoding="ascii")
    os.replace(tmp, path)


def signal_pids(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait until every pid has exited; return those still running after ``timeout``."""
    remaining = list(pids)
    deadline = time.monotonic() + timeout
    while remaining:
        remaining = [pid for pid in remaining if _running(pid)]
        if not remaining or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return remaining


def stop_pids(pids: Iterable[int], timeout: float = 10, signum: int = signal.SIGTERM) -> None:
    """Ask politely with ``signum``, then SIGKILL whatever is left after ``timeout``."""
    pids = list(pids)
    signal_pids(pids, signum)
    left = wait_gone(pids, timeout)
    if left:
        signal_pids(left, signal.SIGKILL)
        wait_gone(left, 5)


def processes_rooted_at(root: Path) -> list[int]:
    """Processes whose root directory is ``root``: a container's, and chroots into it.

    /proc/<pid>/root of a container process reads as "/" from outside its mount namespace,
    so the comparison is by device and inode of the directory, which survives that.
    """
    try:
        wanted = root.stat()
    except FileNotFoundError:
        return []
    found = []
    for pid in all_pids():
        if pid == os.getpid():
            continue
        try:
            st = os.stat(f"/proc/{pid}/root")
        except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
            continue
        if (st.st_dev, st.st_ino) == (wanted.st_dev, wanted.st_ino):
            found.append(pid)
    return found


def container_leader(root: Path) -> int | None:
    """The container's init (pid 1 in its own pid namespace) booted from ``root``."""
    for pid in processes_rooted_at(root):
        ns_pids = _ns_pids(pid)
        if len(ns_pids) >= 2 and ns_pids[-1] == 1:
            return pid
    return None


@contextlib.contextmanager
def frozen(list_pids: Callable[[], list[int]], timeout: float = 10) -> Iterator[None]:
    """Stop (SIGSTOP) every process ``list_pids`` names until the block ends, then SIGCONT.

    The list is taken again until it holds nothing new, so a process forked meanwhile is
    stopped too. The block starts only when every process has stopped: what the processes
    wrote before is in the page cache, and nothing writes while the block runs.
    """
    stopped: set[int] = set()
    try:
        for _ in range(50):
            new = [pid for pid in list_pids() if pid not in stopped]
            if not new:
                break
            signal_pids(new, signal.SIGSTOP)
            stopped.update(new)
        deadline = time.monotonic() + timeout
        while any(_state(pid) not in ("T", "t", "Z", "X", "") for pid in stopped):
            if time.monotonic() > deadline:
                raise LabError(f"{len(stopped)} processes did not all stop within {timeout:.0f} s")
            time.sleep(0.05)
        yield
    finally:
        signal_pids(stopped, signal.SIGCONT)


def _state(pid: int) -> str:
    """The state letter of ``pid`` (R, S, D, T, Z, ...), or "" when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except (FileNotFoundError, ProcessLookupError):
        return ""
    # The state letter follows the parenthesised command name, which may contain spaces.
    return stat.rsplit(")", 1)[-1].split()[0]


def _ns_pids(pid: int) -> list[int]:
    """The NSpid line of /proc/<pid>/status: the pid as seen from each nested namespace."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except (FileNotFoundError, ProcessLookupError):
        return []
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return [int(part) for part in line.split()[1:]]
    return []


def _is_zombie(pid: int) -> bool:
    return _state(pid) in ("Z", "")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)
