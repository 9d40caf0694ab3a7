"""The sudo password's file (wmx.ssh.become) does not outlive its wmx: removed at exit,
on SIGTERM and SIGHUP (which skip atexit), and, after a SIGKILL, by the next wmx that
makes one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from wmx.ssh import become

# A child that makes the file, says where, and waits to be signalled.
CHILD = """
import sys, time
from wmx.ssh import become
become.use_password("the sudo password")
print(become.password_file(), flush=True)
time.sleep(60)
"""


def _start(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    path = Path(child.stdout.readline().strip())
    assert path.read_text() == "the sudo password\n"
    return child, path


@pytest.fixture(autouse=True)
def _signal_handlers() -> Iterator[None]:
    """A password file made in this process puts become's handlers on SIGTERM and SIGHUP,
    and forget() leaves them: put back the ones each test found, so that no later test
    (in any order) runs with them."""
    saved = {signum: signal.getsignal(signum) for signum in become._TERMINATING}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_wmx_takes_its_password_file_along(tmp_path: Path, signum: int) -> None:
    child, path = _start(tmp_path)
    child.send_signal(signum)
    assert child.wait(timeout=10) == -signum  # it still ends as the signal says
    assert not path.parent.exists()


def test_a_killed_wmxs_password_file_is_removed_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    child, path = _start(tmp_path)
    child.kill()
    child.wait(timeout=10)
    assert path.exists()  # SIGKILL: nothing could run
    alive = tmp_path / f"wmx-become-{os.getpid()}-alive"  # a running wmx's: kept
    alive.mkdir()
    other = tmp_path / "wmx-become-notapid"
    other.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    become.use_password("another")
    try:
        mine = become.password_file()
        assert mine is not None and mine.parent.name.startswith(f"wmx-become-{os.getpid()}-")
        assert not path.parent.exists()
        assert alive.exists() and other.exists()
    finally:
        become.forget()


def test_the_handlers_are_not_put_over_someone_elses(monkeypatch: pytest.MonkeyPatch) -> None:
    def mine(_signum: int, _frame: object) -> None:
        pass

    signal.signal(signal.SIGTERM, mine)  # the fixture puts back the one before
    try:
        become.use_password("x")
        assert become.password_file() is not None
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        become.forget()
