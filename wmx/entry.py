"""The `wmx` command's entry point (pyproject.toml's [project.scripts]).

It imports nothing but the standard library before it catches Ctrl-C, so that a Ctrl-C
at any moment, even while the command's modules are still loading (the first tenth of
a second), ends wmx with exit status 130 (128 + SIGINT, as shells do) and no traceback.
Only Python's own start-up, before any of wmx runs, is out of its reach."""

from __future__ import annotations

import sys

INTERRUPTED = 130  # 128 + SIGINT


def main() -> None:
    try:
        from wmx.cli import main as run

        run()
    except KeyboardInterrupt:
        sys.stderr.write("\n")  # the terminal's ^C stays on its own line
        sys.exit(INTERRUPTED)
