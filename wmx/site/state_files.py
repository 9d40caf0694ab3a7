"""What wmx keeps in a site for itself (`.wmx/`: the deploy record and its tree, the
converged record, upgrade records, caches), read as the untrusted input it is.

A hand edit, a co-editor, a restore from a copy, a full disk or a killed run can leave
any of it wrong. Every read here is bounded, never waits (a FIFO, a device such as
/dev/zero), never follows a symbolic link (wmx writes none there) and stays inside the
directory it belongs to, so that no state file makes wmx read, show or compare a file of
this machine it did not write. JSON that is cut short, nested without end or not UTF-8
is a one-line error naming the file (`load_record`), or nothing at all for what wmx can
do without (`load_optional`: a cache, a record that is made again).
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
import stat
from pathlib import Path
from typing import Any

from wmx.errors import InputError
from wmx.site.yamlfile import write_atomically

# Records and caches are a few kB; a rendered file is a configuration file.
MAX_STATE_BYTES = 16 << 20
# The site's state directory. It may itself be a symbolic link, as the site may: where a
# site keeps its state is the operator's choice (another disk, out of a shared checkout).
# What wmx makes below it is never one.
STATE_DIR = ".wmx"


def _linked(path: Path, root: Path) -> Path | None:
    """The first directory from `root` (not itself, nor a site's .wmx right below it) down
    to `path`'s that is a symbolic link; `path` itself when it is not under `root`."""
    try:
        parts = path.parent.relative_to(root).parts
    except ValueError:
        return path
    directory = root
    for index, part in enumerate(parts):
        directory = directory / part
        if part == ".." or (directory.is_symlink() and (index, part) != (0, STATE_DIR)):
            return directory
    return None


def read_state(path: Path, root: Path, *, limit: int = MAX_STATE_BYTES) -> bytes | None:
    """The bytes of the state file `path` under `root`; None when there is none. An
    InputError naming it when it is anything but a regular file of at most `limit` bytes
    reached from `root` through no symbolic link (wmx makes none below `root`)."""
    linked = _linked(path, root)
    if linked is not None:
        raise InputError(f"{linked}: a symbolic link (or outside {root}); wmx makes none there")
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{path}: a symbolic link; wmx writes none there") from None
        if exc.errno == errno.ENOTDIR:
            raise _not_a_directory(path, root) from None
        if exc.errno == errno.ENXIO:
            raise InputError(f"{path}: not a regular file") from None
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # a directory, a FIFO or device opened without waiting
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise InputError(f"{path}: {kind}; wmx keeps a file there")
    with os.fdopen(fd, "rb") as handle:  # closes fd; a regular file ends
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise InputError(f"{path}: larger than {limit:,} bytes; not what wmx writes")
    return data


class StateNotDirectory(InputError):
    """A file (or FIFO, device) where `.wmx/` or a directory of it belongs. Said as that,
    whatever was read through it: "site.json: cannot be read (Not a directory); restore
    it from your copy" sent the operator after a record that was never the problem."""


def _not_a_directory(path: Path, root: Path) -> InputError:
    """The error for `path`, which cannot be reached: the first directory from `root`
    down to it that is something else, named."""
    for place in reversed(path.parents):
        inside = place.is_relative_to(root) and place != root
        if inside and place.exists() and not place.is_dir():
            return StateNotDirectory(
                f"{place}: not a directory; wmx keeps the site's own state in "
                f"{place.name}/ (deploy records, runs, caches): move it away"
            )
    return InputError(f"{path}: cannot be read (a part of its path is not a directory)")


def write_state(path: Path, text: str, mode: int = 0o644) -> None:
    """Write the state file `path` whole or not at all, never through a symbolic link or
    into a FIFO or device there (refused, naming it: wmx writes none there, and one
    planted would have had the record written wherever it points). From the directory
    of `.wmx/` it is in (STATE_DIRS: deployed, upgrades, …) down, a directory that is a
    link, put there before the write or while it runs, is refused, never followed
    (wmx.site.placed.open_directory)."""
    within = next(
        (p for p in reversed(path.parents) if p.parent.name == STATE_DIR and p.name in STATE_DIRS),
        None,
    )
    write_atomically(path, text, mode, follow_links=False, purpose=STATE_PLACE, within=within)


STATE_PLACE = "wmx keeps a file of its own there (.wmx/)"


def _parse(path: Path, data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8; not what wmx writes") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply; not what wmx writes") from None
    except ValueError as exc:
        cause = str(exc).splitlines()[0] if str(exc) else "not JSON"
        raise InputError(f"{path}: not JSON ({cause})") from None


def load_record(path: Path, root: Path, what: str) -> Any:
    """The JSON document `path` (None when there is none), or an InputError: `path`:
    cause; `what` (what the file is and what to do about it)."""
    try:
        data = read_state(path, root)
        return None if data is None else _parse(path, data)
    except StateNotDirectory:
        raise  # the record is not the problem: `what` would say it is
    except InputError as exc:
        raise InputError(f"{exc}; {what}") from None


def load_optional(path: Path, root: Path) -> Any:
    """The JSON document `path`, or None: none, or one that is not wmx's (a cache is
    made again, a record read this way is one wmx can do without)."""
    try:
        data = read_state(path, root)
        return None if data is None else _parse(path, data)
    except InputError:
        return None


def confined_file(root: Path, relative: object) -> Path:
    """`root`/`relative` for a relative path named in a state file (a manifest's src),
    or an InputError when it is not one: absolute, with `..`, or not normalised."""
    if (
        not isinstance(relative, str)
        or relative in ("", ".")
        or relative.startswith("/")
        or posixpath.normpath(relative) != relative
        or relative.split("/")[0] == ".."
        or "\0" in relative
    ):
        raise InputError(f"{root}: names {str(relative)[:80]!r}, not a file under it")
    return root / relative


def read_manifest(host_dir: Path) -> dict[str, dict[str, Any]]:
    """src → entry of `host_dir`/.wmx/manifest.json (a build's or the last deploy's);
    empty when there is none. One that is not what wmx writes (not JSON, an entry with
    no src, a src that leaves `host_dir`) is an InputError naming it."""
    path = host_dir / ".wmx" / "manifest.json"
    what = "not the list of files wmx writes there (the next deploy writes it again)"
    entries = load_record(path, host_dir.parent, what)
    if entries is None:
        return {}
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{path}: not a list of files; {what}")
    try:
        for entry in entries:
            confined_file(host_dir, entry.get("src"))
    except InputError as exc:
        raise InputError(f"{path}: {exc}; {what}") from None
    return {str(e["src"]): e for e in entries}


def kept_lines(host_dir: Path, relative: str, *, missing_ok: bool = False) -> list[str]:
    """The lines of a file of a build or deploy record (`wmx diff` shows them), read as
    read_state does and only from under `host_dir`."""
    path = confined_file(host_dir, relative)
    data = read_state(path, host_dir.parent)
    if data is None:
        if missing_ok:
            return []
        raise InputError(f"{path}: missing; the record of the files of a deploy names it")
    try:
        return data.decode("utf-8").splitlines(True)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8; not a file wmx writes") from None


# The directories wmx makes in `.wmx/`. Each is written through (records, runs holding
# the hosts' variables, the admin token) and some are made 0700: never through a link
# (`.wmx` itself may be one: see STATE_DIR).
STATE_DIRS = ("deployed", "upgrades", "runs", "cache", "drill")


def check_state_dirs(state: Path) -> None:
    """Refuse a directory of `.wmx/` that is a symbolic link or no directory: what wmx
    keeps there would be written, and made private (chmod 0700), wherever it points.
    `.wmx` itself may be a link (STATE_DIR), but to a directory."""
    if state.exists() and not state.is_dir():
        raise _not_a_directory(state / STATE_DIRS[0], state.parent)
    for path in (state / name for name in STATE_DIRS):
        if path.is_symlink():
            raise InputError(
                f"{path}: a symbolic link; wmx keeps the site's own state there (deploy "
                "record, runs, upgrade records, caches): put the directory itself there"
            )
        if path.exists() and not path.is_dir():
            raise InputError(f"{path}: not a directory; wmx keeps the site's own state there")
