"""What a killed wmx left (a temporary copy of a site file, a half-swapped tree, a sudo
password's directory) is found by one rule, wmx.site.yamlfile.dead_leftovers: an entry
named after a process that is gone. A name that only looks like one (a digit that is not
ASCII, a number no process can have) is no process's and is left alone; it had stopped
the write, the deploy's record or the password file with a ValueError or OverflowError
traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from wmx.site.deployed import replace_tree
from wmx.site.yamlfile import dead_leftovers, write_atomically
from wmx.ssh import become

# Names that are no process's: a superscript two (str.isdigit, but not int()), and a
# number os.kill cannot take.
NOT_PIDS = ["\u00b2", "9" * 30]


@pytest.fixture(autouse=True)
def _signal_handlers() -> Iterator[None]:
    """become's password file puts handlers on SIGTERM and SIGHUP: put back the test's."""
    saved = {signum: signal.getsignal(signum) for signum in become._TERMINATING}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def test_only_the_entries_of_dead_processes_are_found(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    for name in (
        f".f.{dead}.a.tmp",
        f".f.{alive}.b.tmp",
        ".f.notapid.c.tmp",
        *(f".f.{text}.d.tmp" for text in NOT_PIDS),
        f".g.{dead}.e.tmp",
    ):
        (tmp_path / name).write_text("")
    assert dead_leftovers(tmp_path, ".f.") == [(tmp_path / f".f.{dead}.a.tmp", "a.tmp")]
    assert dead_leftovers(tmp_path / "missing", ".f.") == []


def test_own_only_leaves_another_users_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = _dead_pid()
    (tmp_path / f"p-{dead}-x").mkdir()
    assert dead_leftovers(tmp_path, "p-", "-", own_only=True) == [(tmp_path / f"p-{dead}-x", "x")]
    monkeypatch.setattr(os, "getuid", lambda: os.stat(tmp_path).st_uid + 1)
    assert dead_leftovers(tmp_path, "p-", "-", own_only=True) == []


@pytest.mark.parametrize("text", NOT_PIDS)
def test_a_name_that_only_looks_like_a_pid_stops_no_writer(tmp_path: Path, text: str) -> None:
    dead = _dead_pid()
    odd = tmp_path / f".wmx.yaml.{text}.0123abcd.tmp"
    orphan = tmp_path / f".wmx.yaml.{dead}.4567cdef.tmp"
    odd.write_text("")
    orphan.write_text("a copy")
    write_atomically(tmp_path / "wmx.yaml", "new: 1\n")
    assert (tmp_path / "wmx.yaml").read_text() == "new: 1\n"
    assert odd.exists() and not orphan.exists()


@pytest.mark.parametrize("text", NOT_PIDS)
def test_a_name_that_only_looks_like_a_pid_stops_no_tree_swap(tmp_path: Path, text: str) -> None:
    source, target = tmp_path / "build", tmp_path / "deployed" / "host"
    source.mkdir()
    (source / "file").write_text("new")
    target.mkdir(parents=True)
    odd = target.parent / f".host.{text}.new"
    odd.mkdir()
    replace_tree(source, target)
    assert (target / "file").read_text() == "new" and odd.exists()


@pytest.mark.parametrize("text", NOT_PIDS)
def test_a_name_that_only_looks_like_a_pid_stops_no_password_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    odd = tmp_path / f"wmx-become-{text}-x"
    odd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    become.use_password("the password")
    try:
        assert become.password_file() is not None
        assert odd.exists()
    finally:
        become.forget()
