"""The `wmx` command's entry point (pyproject.toml's [project.scripts]).

It imports nothing but the standard library before it catches Ctrl-C, so that a Ctrl-C
at any moment, even while the command's modules are still loading (the first tenth of
a second), ends wmx with exit status 130 (128 + SIGINT, as shells do) and no traceback;
SIGTERM and SIGHUP end it the same way (143, 129), its tunnels and locks let go. Only
Python's own start-up, before any of wmx runs, is out of its reach."""

from __future__ import annotations

import signal
import sys
import warnings
from types import FrameType

INTERRUPTED = 130  # 128 + SIGINT


def _stop(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (`timeout`, a CI job cancelled, `kill`) and SIGHUP (the terminal closed)
    end wmx as Ctrl-C does, through every `finally`: Python's default ends the process
    at once, and an SSH tunnel to Synapse's or Prometheus' port outlived it."""
    raise SystemExit(128 + signum)


def main() -> None:
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _stop)
    # An anchor defined twice in YAML wmx reads (a site's file, a value given) is allowed
    # by YAML (the later one counts) and checked like any value; ruamel.yaml's warning
    # about it was nine lines of its source on stderr before wmx's one line.
    warnings.filterwarnings("ignore", message="\nfound duplicate anchor")
    try:
        from wmx.cli import main as run

        run()
    except KeyboardInterrupt:
        sys.stderr.write("\n")  # the terminal's ^C stays on its own line
        sys.exit(INTERRUPTED)
