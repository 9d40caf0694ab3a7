"""Where wmx writes a file of its own (Grafana's provisioning, a key export, generated
passwords, what it keeps in `.wmx/`): never through a symbolic link, never into a FIFO or
a device.

A link planted where wmx writes (`DIR/dashboards/wmx-host.json -> /etc/passwd`, a FIFO
where a file goes) would have had wmx write, as whoever runs it, wherever it points, or
hang. Each place is looked at without following links first, and refused in one line
naming it (an InputError, exit 2) unless it is missing or what wmx makes there: a regular
file, a directory. The write itself then goes through a temporary file renamed over the
name (wmx.site.yamlfile.write_atomically with follow_links=False), which replaces a link
put there after the look rather than writing through it.

A directory is no safer by its name: one swapped for a link between the look and the
write (by whoever may rename in the directory above: a site shared by several hands)
would have taken the file wherever it points. open_directory opens the directory once,
each component below the place wmx owns (`within`: Grafana's DIR, a directory of
`.wmx/`, build/'s new tree) without following a link, and the look, the temporary file,
the rename and the flush then go through that descriptor (`dir_fd`).

The site's own files (wmx.yaml, inventory.yml, secrets.yml) are another matter: the
operator may keep them elsewhere and link them into the site, and `config set` writes a
link's target (docs/site-input.md).
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import stat
from pathlib import Path

from wmx.errors import InputError
from wmx.site.given import given

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISREG, "a file"),
)


def kind_of(mode: int) -> str:
    """`is a FIFO`, `is a character device`, …, from a file's mode."""
    return next((f"is {kind}" for test, kind in _KINDS if test(mode)), "not a file")


def _refusal(path: Path, mode: int, wanted: str, purpose: str) -> InputError:
    if stat.S_ISLNK(mode):
        return InputError(
            f"{given(path)}: a symbolic link; {purpose} (wmx writes through no link: "
            "remove it, or name the place itself)"
        )
    return InputError(f"{given(path)}: {kind_of(mode)}, not {wanted}; {purpose}")


def check_file_place(path: Path, purpose: str, *, dir_fd: int | None = None) -> bool:
    """Whether a file is at `path` (False: nothing is there yet); an InputError naming it
    when it is a symbolic link (dangling too), a FIFO, a device, a socket or a directory.
    `purpose` says what wmx writes there (`cannot write the key file there`). With
    `dir_fd` (open_directory's descriptor of `path`'s directory), its name is looked at
    there."""
    try:
        mode = os.lstat(path if dir_fd is None else path.name, dir_fd=dir_fd).st_mode
    except FileNotFoundError:
        return False
    except OSError:
        return False  # the write says why (a name too long, a file where a directory goes)
    if not stat.S_ISREG(mode):
        raise _refusal(path, mode, "a regular file", purpose)
    return True


def make_directory(path: Path, purpose: str, *, parents: bool = False) -> None:
    """Make the directory `path` unless it is one; an InputError naming it when it is a
    symbolic link (to a directory too) or anything but a directory. With `parents`, the
    directories above it are made as `mkdir -p` does (the operator's own path: links
    there are followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path, 0o755)
            return
        except FileExistsError:  # made meanwhile: looked at again
            mode = os.lstat(path).st_mode
    if not stat.S_ISDIR(mode):
        raise _refusal(path, mode, "a directory", purpose)


_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def open_directory(
    path: Path, purpose: str, *, within: Path | None = None, make: int | None = None
) -> int:
    """A descriptor of the directory `path`, opened once: a file is then looked at, made
    and renamed relative to it (`dir_fd`), so that no directory swapped for a symbolic
    link after a look redirects the write. From `within` (itself included) down to `path`
    each directory is opened without following a link (O_NOFOLLOW, one component at a
    time): a link there, put before the look or after it, is an InputError naming it, as
    make_directory's. Above `within`, and everywhere when it is None, the path is the
    operator's and links are followed. With `make`, a missing directory below `within` is
    made with that mode. Other failures (missing, not searchable) are the OSError."""
    if within is None:
        return os.open(path, _DIRECTORY)
    fd = os.open(within.parent, _DIRECTORY)
    here = within.parent
    for part in path.relative_to(within.parent).parts:
        here = here / part
        try:
            below = _open_below(fd, here, purpose, make)
        finally:
            os.close(fd)
        fd = below
    return fd


def _open_below(parent: int, path: Path, purpose: str, make: int | None) -> int:
    """The directory `path`, named `path.name` in the directory `parent`."""
    if make is not None:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path.name, make, dir_fd=parent)
    try:
        return os.open(path.name, _DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        mode = os.lstat(path.name, dir_fd=parent).st_mode
        raise _refusal(path, mode, "a directory", purpose) from None


def _user_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def open_appending(path: Path, purpose: str, mode: int = 0o600) -> int:
    """A descriptor appending to `path`, which the operator named on the command line:
    a regular file (made with `mode` when missing), or a stream that takes what is
    written at once: a pipe or FIFO that a process reads, or a terminal, named directly
    or through a link (`/dev/stdout`, a shell's `>(gpg -e …)`). An InputError naming
    `path` for anything else: a link to a file (one planted where the operator writes),
    a FIFO no process reads (it would wait), a device such as /dev/null (the passwords
    would be lost), or a file others may read or write while `mode` is private."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        linked = stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        linked = False
    except OSError as exc:  # a loop of links above it, a name too long: the cause
        raise InputError(f"{given(path)}: cannot be written ({exc.strerror or exc})") from None
    # Never made through a link (a dangling one would have its target created).
    flags |= 0 if linked else os.O_CREAT | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        with contextlib.suppress(OSError):  # else the open's own cause below
            found = os.stat(path).st_mode if exc.errno == errno.ENXIO else 0
            if stat.S_ISFIFO(found):  # ENXIO: a FIFO without a reader, or a socket
                raise InputError(f"{given(path)}: a FIFO no process reads; {purpose}") from None
            if found:
                raise _refusal(path, found, "a regular file", purpose) from None
        if linked and exc.errno == errno.ENOENT:
            raise _refusal(path, stat.S_IFLNK, "a regular file", purpose) from None
        raise InputError(f"{given(path)}: cannot be written ({exc.strerror or exc})") from None
    found = os.fstat(fd).st_mode
    stream = stat.S_ISFIFO(found) or (stat.S_ISCHR(found) and os.isatty(fd))
    refusal = None
    if not stream and (linked or not stat.S_ISREG(found)):
        refusal = _refusal(path, stat.S_IFLNK if linked else found, "a regular file", purpose)
    elif not stream and found & 0o066 and not mode & 0o066:
        # others could read what is appended, or cut it short
        how = "readable" if found & 0o044 else "writable"
        refusal = InputError(
            f"{given(path)}: {how} by others (mode {found & 0o777:04o}); {purpose}: "
            f"`chmod 600 {given(path)}` first, or name a new file"
        )
    elif not stream and not mode & 0o066 and (owner := os.fstat(fd).st_uid) != os.geteuid():
        # Private to its owner, who is someone else: they would read what is appended.
        refusal = InputError(
            f"{given(path)}: owned by {_user_name(owner)}, not by the user running wmx; "
            f"{purpose}: name a file of your own"
        )
    if refusal is not None:
        os.close(fd)
        raise refusal
    os.set_blocking(fd, True)
    return fd
