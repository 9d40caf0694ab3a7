"""`wmx init` makes a whole site or none: two at once on one directory, one writes and
the other finds its site; one that fails midway (a full disk, Ctrl-C) removes what it
wrote, says so, and can be run again. And a write that fails says "left as it was" only of
a file that was there."""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import wmx.site.yamlfile
from tests.conftest import EXAMPLE
from wmx.errors import InputError, WmxError, WriteRefused
from wmx.site.init import init_site
from wmx.site.yamlfile import write_atomically


def _fail_at(monkeypatch: pytest.MonkeyPatch, count: int, failure: BaseException) -> list[str]:
    """Make the `count`th file written fail (its fsync) with `failure`; the names of the
    files written, in order."""
    real, real_fsync = wmx.site.yamlfile._replace_in, os.fsync
    written: list[str] = []

    def replace(directory: int, target: Path, *args: Any) -> None:
        written.append(target.name)
        real(directory, target, *args)

    def fsync(fd: int) -> None:
        if len(written) == count:
            raise failure
        real_fsync(fd)

    monkeypatch.setattr(wmx.site.yamlfile, "_replace_in", replace)
    monkeypatch.setattr("wmx.site.yamlfile.os.fsync", fsync)
    return written


def test_a_full_disk_leaves_no_site_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "new/site"
    written = _fail_at(monkeypatch, 4, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    with pytest.raises(WmxError) as failed:
        init_site(root, EXAMPLE)
    assert written == [".gitignore", "wmx.yaml", "inventory.yml", "secrets.yml"]
    message = str(failed.value)
    assert message.startswith(f"{root / 'secrets.yml'}: cannot be written (No space left")
    assert "wmx init created nothing" in message
    assert "left as it was" not in message  # there was no secrets.yml to leave
    assert failed.value.exit_code == 1
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()
    init_site(root, EXAMPLE)  # nothing is in the way of a second run
    assert (root / "secrets.yml").is_file()


def test_ctrl_c_midway_leaves_an_existing_directory_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "notes.txt").write_text("mine\n")
    _fail_at(monkeypatch, 3, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        init_site(root, EXAMPLE)
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt"]


def test_two_inits_at_once_one_wins_the_other_finds_its_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first init stops after its first file until the second has finished or is
    waiting for the lock: unlocked, the second would find no site and write its own."""
    root = tmp_path / "site"
    second_went = threading.Event()
    real_write, real_flock = write_atomically, fcntl.flock
    outcome: dict[str, BaseException | None] = {}

    def write(path: Path, text: str) -> None:
        real_write(path, text)
        if threading.current_thread() is first:
            assert second_went.wait(timeout=60)

    def flock(fd: int, operation: int) -> None:
        if threading.current_thread() is second and operation == fcntl.LOCK_EX:
            second_went.set()  # about to wait for the first
        real_flock(fd, operation)

    def run() -> None:
        name = threading.current_thread().name
        try:
            init_site(root, EXAMPLE)
            outcome[name] = None
        except BaseException as exc:
            outcome[name] = exc
        finally:
            second_went.set()

    monkeypatch.setattr("wmx.site.init.write_atomically", write)
    monkeypatch.setattr(fcntl, "flock", flock)
    first = threading.Thread(target=run, name="first")
    second = threading.Thread(target=run, name="second")
    first.start()
    while not (root / ".gitignore").exists() and first.is_alive():
        first.join(timeout=0.01)
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)
    assert outcome["first"] is None
    assert isinstance(outcome["second"], InputError)
    assert "already holds a site (wmx.yaml, inventory.yml, secrets.yml)" in str(outcome["second"])


def test_a_refused_write_says_kept_only_of_a_file_that_was_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    there = tmp_path / "there.yml"
    there.write_text("old\n")
    monkeypatch.setattr("wmx.site.yamlfile.os.fsync", full)
    with pytest.raises(WriteRefused, match=r"; it was left as it was$"):
        write_atomically(there, "new\n")
    with pytest.raises(WriteRefused, match=r"\(No space left on device\)$"):
        write_atomically(tmp_path / "new.yml", "new\n")
    assert there.read_text() == "old\n"


def test_a_directory_nfs_cannot_lock_still_gets_its_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NFS refuses flock on a directory (ENOLCK): init goes on without the lock, as it
    worked there before it locked; it had ended in a traceback, its directories left."""

    def refused(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr("wmx.site.init.fcntl.flock", refused)
    root = tmp_path / "nfs" / "site"
    init_site(root, EXAMPLE)
    assert (root / "wmx.yaml").is_file() and (root / "secrets.yml").is_file()


def test_a_directory_that_cannot_be_opened_leaves_none_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def refused(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_DIRECTORY and str(path).endswith("site"):
            raise OSError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr("wmx.site.init.os.open", refused)
    with pytest.raises(InputError, match="cannot be made or opened"):
        init_site(tmp_path / "new" / "site", EXAMPLE)
    assert not (tmp_path / "new").exists()
