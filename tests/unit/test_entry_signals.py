"""SIGTERM (`timeout`, a CI job cancelled) and SIGHUP (the terminal closed) end wmx
through its `finally` blocks, as Ctrl-C does: Python's default had ended the process at
once, and the SSH tunnel to Synapse's port that a command had open outlived it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_ends_wmx_with_its_status_and_no_traceback(
    tmp_path: Path, stop: signal.Signals
) -> None:
    command = [sys.executable, "-c", "from wmx.entry import main; main()", "init", "s"]
    # `wmx init` waits for its first answer on a pipe that stays open.
    waiting = subprocess.Popen(
        command, cwd=tmp_path, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(3)  # past the imports, at the question
    waiting.send_signal(stop)
    _, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 128 + stop, err
    assert "Traceback" not in err
    assert not (tmp_path / "s").exists()


def test_an_ansible_run_counts_a_hangup_as_it_counts_ctrl_c() -> None:
    """During a run, SIGHUP takes the graceful stop (SIGINT to ansible-playbook first)
    as SIGINT and SIGTERM do: wmx.entry's handler, raising inside ansible-runner's loop,
    had left ansible-playbook and its workers running."""
    import os

    from wmx.run.interrupt import interrupts_received

    before = signal.getsignal(signal.SIGHUP)
    with interrupts_received() as received:
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(0.1)
        assert received() == 1
    assert signal.getsignal(signal.SIGHUP) == before
