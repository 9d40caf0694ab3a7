"""Review of 36921e9 (wmx.site.placed.open_appending, `user import --passwords-out`): every
refusal is one InputError line naming the file, and says what is wrong with it.

A path below a loop of links had raised the bare OSError of a second lstat (a traceback
from `wmx user import`); a file only others may write (0620) was called `readable by
others`, and one others may only execute (0611: nothing of it can be read) was refused.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from wmx.errors import InputError
from wmx.site.placed import open_appending

PURPOSE = "generated passwords are appended to a private file"


def test_a_loop_of_links_above_the_file_is_one_line(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(InputError, match=r"loop/passwords\.csv: cannot be written \(Too many"):
        open_appending(loop / "passwords.csv", PURPOSE)


def test_a_file_others_may_write_is_refused_as_that(tmp_path: Path) -> None:
    out = tmp_path / "passwords.csv"
    out.write_text("")
    out.chmod(0o620)
    with pytest.raises(InputError, match=r"writable by others \(mode 0620\).*chmod 600") as got:
        open_appending(out, PURPOSE)
    assert "readable" not in str(got.value)


def test_a_file_others_may_only_execute_is_appended_to(tmp_path: Path) -> None:
    out = tmp_path / "passwords.csv"
    out.write_text("")
    out.chmod(0o611)
    os.close(open_appending(out, PURPOSE))


def test_a_socket_is_refused_by_its_kind(tmp_path: Path) -> None:
    """A guard: passes on the old code too."""
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(InputError, match=r"s: is a socket, not a regular file"):
            open_appending(path, PURPOSE)


# A stream the operator names is written to (/dev/stdout into a pipe, a shell's
# `>(gpg -e …)`): 36921e9 had refused both as links.


def test_a_link_to_a_pipe_that_a_process_reads_is_a_stream(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    link = tmp_path / "stdout"
    link.symlink_to(f"/proc/self/fd/{write_end}")  # what /dev/stdout and >(…) are
    fd = open_appending(link, PURPOSE)
    os.write(fd, b"@a:example.test,pw\n")
    os.close(fd)
    os.close(write_end)
    assert os.read(read_end, 100) == b"@a:example.test,pw\n"
    os.close(read_end)


def test_a_fifo_that_a_process_reads_is_a_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    os.close(open_appending(fifo, PURPOSE))
    os.close(reader)


def test_a_device_that_keeps_nothing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"/dev/null: is a character device"):
        open_appending(Path("/dev/null"), PURPOSE)


@pytest.mark.parametrize("target", ["file", "nothing"])
def test_a_link_to_a_file_or_to_nothing_is_refused_and_creates_nothing(
    tmp_path: Path, target: str
) -> None:
    victim = tmp_path / "victim"
    if target == "file":
        victim.write_text("keep\n")
        victim.chmod(0o600)
    link = tmp_path / "passwords.csv"
    link.symlink_to(victim)
    with pytest.raises(InputError, match=r"passwords\.csv: a symbolic link"):
        open_appending(link, PURPOSE)
    assert (victim.read_text() == "keep\n") if target == "file" else not victim.exists()


def test_a_private_file_of_another_user_is_refused(tmp_path: Path) -> None:
    """Root appending generated passwords to a file another user owns (mode 0600 or not)
    would hand that user the passwords: refused, naming the owner."""
    from tests.conftest import require_root

    require_root("chown to another user")
    out = tmp_path / "passwords.csv"
    out.write_text("")
    out.chmod(0o600)
    os.chown(out, 65534, 65534)
    with pytest.raises(InputError, match=r"passwords\.csv: owned by (nobody \()?uid 65534"):
        open_appending(out, PURPOSE)
    assert out.read_text() == ""
