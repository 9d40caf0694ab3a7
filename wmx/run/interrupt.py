"""Stop ansible-playbook cleanly on Ctrl-C, and give the signal handlers back after.

ansible-playbook runs in its own pty and session, so Ctrl-C reaches only wmx.

ansible-runner cancels a run by SIGKILLing ansible-playbook's process group. Ansible's
worker processes call ``setsid()``, so they are not in that group: they survive,
orphaned, and go on running the task at hand (on the host, too). Ansible itself
handles SIGINT by passing it to its workers and exiting, so wmx sends SIGINT first
and leaves ansible-runner's kill as the fallback for an Ansible that does not stop
(after a grace period, or at once on a second Ctrl-C).

ansible-runner's default cancel callback also installs SIGINT/SIGTERM handlers and
never restores them, which would leave the rest of wmx deaf to Ctrl-C after a run;
these handlers are restored on the way out.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 15.0


@contextmanager
def interrupts_received() -> Iterator[Callable[[], int]]:
    """Yield a function counting the SIGINT/SIGTERM/SIGHUP signals received so far.

    Handlers can only be installed from the main thread; elsewhere the count stays 0
    and the caller's own signal handling applies.
    """
    received = [0]
    if threading.current_thread() is not threading.main_thread():
        yield lambda: received[0]
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Only count: printing from a signal handler can interleave with, and
        # corrupt, output the main thread is in the middle of writing.
        received[0] += 1

    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    for signum in _SIGNALS:
        signal.signal(signum, on_signal)
    try:
        yield lambda: received[0]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _is_our_child(pid: int) -> bool:
    # Signal only a process this one started: a recycled pid could be anything.
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return False
    return any(line.split() == ["PPid:", str(os.getpid())] for line in status.splitlines())


class AnsibleStopper:
    """The ``cancel_callback`` for ansible-runner: interrupt Ansible, then kill it.

    ``ansible_pid`` is learnt from the events (each carries the pid of the process
    that emitted it, and ``playbook_on_start`` comes from ansible-playbook itself).
    """

    def __init__(
        self,
        interrupts: Callable[[], int],
        announce: Callable[[str], None],
        grace_seconds: float = GRACE_SECONDS,
    ) -> None:
        self._interrupts = interrupts
        self._announce = announce
        self._grace_seconds = grace_seconds
        self._interrupted_at: float | None = None
        self.ansible_pid: int | None = None

    @property
    def interrupted(self) -> bool:
        return self._interrupted_at is not None

    def __call__(self) -> bool:
        """True when ansible-runner should kill ansible-playbook now."""
        count = self._interrupts()
        if count == 0:
            return False
        if self._interrupted_at is None:
            self._interrupted_at = time.monotonic()
            if self._interrupt_ansible():
                self._announce(
                    "Interrupted: stopping ansible-playbook (press Ctrl-C again to kill it)…"
                )
                return False
            self._announce("Interrupted: killing ansible-playbook…")
            return True
        return count > 1 or time.monotonic() - self._interrupted_at > self._grace_seconds

    def _interrupt_ansible(self) -> bool:
        pid = self.ansible_pid
        if pid is None or not _is_our_child(pid):
            return False
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return False
        return True
