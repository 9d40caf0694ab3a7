"""Files wmx keeps beside a site's own for itself: the temporary file of a write (a whole
copy of secrets.yml, say) and the lock files. A writer killed midway leaves its temporary
file; a link planted where a lock file goes would take wmx's file elsewhere."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from pathlib import Path

from wmx.errors import InputError, WriteRefused
from wmx.site.placed import kind_of

# `.NAME.PID.RANDOM.tmp`, as wmx.site.yamlfile's write_atomically names them.
TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[0-9a-f]{8}\.tmp")


def remove_dead_temporaries(directory: int) -> None:
    """Remove from `directory` (a descriptor) every temporary file of a write whose writer
    is gone, whichever file it was writing: the next write of that file may be long in
    coming, and meanwhile the copy (of secrets.yml, say) lies in the site for `git add`."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        found = TEMPORARY.fullmatch(name)
        if found is None or _writer_alive(int(found["pid"]), name, directory):
            continue
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=directory)


def _writer_alive(pid: int, name: str, directory: int) -> bool:
    """Whether the process named in temporary file `name` may still be writing it: it
    runs, and started before the file was last written (else its number was reused)."""
    try:
        found = os.stat(name, dir_fd=directory, follow_symlinks=False)
    except OSError:
        return True  # gone already, or not ours to judge
    if found.st_uid != os.geteuid():
        return True  # another user's run (its process may be out of sight): not ours
    if not pid_alive(pid):
        return False
    written = found.st_mtime
    started = process_start(pid)
    # Boot time is kept in whole seconds: a second's doubt counts as the writer's.
    return started is None or started <= written + 1


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists. One that cannot be checked counts: another user's,
    or a number too big for a pid (no wmx named a file after it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True
    return True


def process_start(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), from /proc; None where that
    cannot be told."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        lines = Path("/proc/stat").read_text().splitlines()
        boot = next(line for line in lines if line.startswith("btime "))
        # Field 22 of stat(5), the start in clock ticks after boot; `fields` begins at 3.
        return int(boot.split()[1]) + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


LOCK_ADVICE = "where wmx keeps a lock file of its own; remove it"


def open_lock_file(lock: Path) -> int:
    """A descriptor of lock file `lock`, made (0600) if missing. Never through a symbolic
    link, which would have wmx make or lock a file outside the site, and only a regular
    file (O_NONBLOCK: a FIFO put there does not hang the open): anything else is an
    InputError naming it."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(lock, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{lock}: a symbolic link, {LOCK_ADVICE}") from None
        if exc.errno == errno.EISDIR:
            raise InputError(f"{lock}: a directory, {LOCK_ADVICE}") from None
        raise WriteRefused(lock, exc) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"{lock}: {kind_of(mode)}, {LOCK_ADVICE}")
    return fd
