"""`python3 feed.py FILE CMD…`: run CMD with FILE's content, then this process's own
standard input, on its standard input; exit with CMD's status.

wmx.ssh runs ssh through it when a sudo password is in use (wmx.ssh.become): the password
(FILE, mode 0600) is the first line the remote side reads, and the caller's input
follows. Unlike `cat FILE - | ssh …`, it returns as soon as ssh does, even while its own
input (a terminal) stays open. Standard library only: it runs as a script.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from types import FrameType

CHUNK = 1 << 16


def _pump(target: int) -> None:
    try:
        while block := os.read(0, CHUNK):
            os.write(target, block)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            os.close(target)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write("usage: feed.py FILE CMD…\n")
        return 2
    with open(argv[0], "rb") as file:
        head = file.read()
    source, target = os.pipe()
    child = subprocess.Popen(argv[1:], stdin=source)
    os.close(source)

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    with contextlib.suppress(OSError):
        os.write(target, head)
    threading.Thread(target=_pump, args=(target,), daemon=True).start()
    try:
        return child.wait()
    except KeyboardInterrupt:
        return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
