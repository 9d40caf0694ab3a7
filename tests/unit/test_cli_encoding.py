"""A standard stream that is not UTF-8 (an ISO-8859-1 terminal, PYTHONIOENCODING=ascii):
wmx's "…", "→" and "✓" come out as "?", never as a UnicodeEncodeError's traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_help_and_an_error_reach_a_terminal_that_is_not_utf8(tmp_path: Path, encoding: str) -> None:
    env = {**os.environ, "PYTHONIOENCODING": encoding, "WMX_SITE": str(tmp_path)}
    command = [sys.executable, "-c", "from wmx.cli import main; main()"]
    shown = subprocess.run([*command, "--help"], env=env, capture_output=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert b"build/HOST/?" in shown.stdout  # "build/HOST/…" with the one it cannot show
    failed = subprocess.run([*command, "render"], env=env, capture_output=True, check=False)
    assert failed.returncode == 2
    assert b"Traceback" not in failed.stderr and len(failed.stderr.splitlines()) == 1
