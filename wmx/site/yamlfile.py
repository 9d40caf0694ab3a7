"""Round-trip YAML: operators' comments and key order survive every edit wmx makes.

Also the site's file I/O that must not lose data: reading that turns every kind of bad
file into one `file[:line]: cause` line, atomic writes that keep a file's mode and a
symlink, and the lock that serialises read-modify-write cycles.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import re
import secrets
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.representer import RoundTripRepresenter

from wmx.errors import InputError, WmxError, WriteRefused, printable
from wmx.site.given import given, unquoted
from wmx.site.own_files import open_lock_file, pid_alive, remove_dead_temporaries
from wmx.site.placed import check_file_place, kind_of, open_directory
from wmx.site.yaml_depth import load_as_ansible, load_bounded
from wmx.site.yaml_size import MAX_VALUES, too_many_values

# No settings file or inventory comes near this; a bigger one is a mistake or an attack.
MAX_FILE_BYTES = 1 << 20


def round_trip_yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


class _ExplicitNullRepresenter(RoundTripRepresenter):
    """Writes None as `null` (as wmx.yaml.j2 does) rather than as an empty value, so that
    editing one key of wmx.yaml leaves every other line as it was."""


_ExplicitNullRepresenter.add_representer(
    type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null")
)


def read_site_bytes(
    path: Path, limit: int = MAX_FILE_BYTES, *, within: Path | None = None
) -> bytes:
    """Up to `limit` + 1 bytes of a site file that is a regular file (a symlink's target),
    or an InputError naming it. Never waits: a FIFO, a device such as /dev/zero, a socket
    or a directory (a symlink to one, too) is refused before a byte is read from it. A
    symbolic link (the file's or a directory's above it) that leads out of `within`, the
    site, is refused too (refuse_link_out); by default the site is the directory that
    names the file (wmx.yaml, inventory.yml, secrets.yml), or for a file below
    group_vars/ or host_vars/ the directory that holds those (site_of)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        if path.is_symlink():
            raise InputError(f"{path}: a symbolic link to nothing; not a file") from None
        raise InputError(f"{path}: not found") from None
    except PermissionError:
        raise InputError(f"{path}: cannot be read (permission denied)") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO with no writer, a socket
            raise InputError(f"{path}: {_kind_of_file(path)}, not a regular file") from None
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{path}: is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise InputError(f"{path}: {_kind_of_file(path)}, not a regular file")
        refuse_link_out(path, site_of(path) if within is None else within, opened=fd)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


# Ansible's variables' directories beside the inventory (wmx.site.inventory_cache).
_VARS_DIRS = ("group_vars", "host_vars")


def site_of(path: Path) -> Path:
    """The site a site file is part of: the directory holding group_vars/ or host_vars/
    for a file below them (read for a line number too: inventory_lines), else the
    file's own directory."""
    return next((p.parent for p in path.parents if p.name in _VARS_DIRS), path.parent)


def link_out(path: Path, within: Path) -> str | None:
    """Where `path` really is when a symbolic link (its own name, or a directory's above
    it) takes it out of `within`; None when it stays inside. A link that cannot be
    followed to its end (`/proc/1/root`: permission denied) counts as out."""
    try:
        real = os.path.realpath(path)
        base = os.path.realpath(within).rstrip(os.sep) + os.sep
    except OSError:
        with contextlib.suppress(OSError):
            return os.readlink(path)
        return str(path)
    return None if (real + os.sep).startswith(base) else real


def refuse_link_out(path: Path, within: Path, *, opened: int | None = None) -> None:
    """An InputError naming `path` and where it leads when a link takes it out of
    `within`. A site is shared (in git, often): `wmx.yaml -> /etc/shadow` had that file's
    lines quoted in errors, `host_vars/x.yml -> ~/other-site/secrets.yml` its values
    copied into this site's cache and sent to its hosts. Only the place is named, never
    a byte of the file. `opened`: a descriptor of the file as wmx opened it, which must be
    the file found inside (not one a link swapped in meanwhile)."""
    outside = link_out(path, within)
    if outside is not None:
        raise InputError(
            f"{printable(str(path))}: a symbolic link to {given(outside)}, outside the site "
            f"({printable(str(within))}); wmx reads no file outside the site through a "
            "link: put the file itself in the site"
        )
    if opened is None:
        return
    try:  # the real path has no link left: a file there is the one opened, or a race
        found, read = os.lstat(os.path.realpath(path)), os.fstat(opened)
        same = (found.st_dev, found.st_ino) == (read.st_dev, read.st_ino)
    except OSError:
        same = False
    if not same:
        raise InputError(f"{printable(str(path))}: changed while wmx read it; run wmx again")


def read_given_file(path: Path, what: str, limit: int) -> bytes:
    """A file named on the command line (`--password-file`, a CSV to import, …), read to
    at most `limit` bytes, or an InputError naming it. A pipe is read (`<(pass show x)`
    is one), a directory refused, and a device or a file that never ends (/dev/zero) is
    refused once `limit` bytes have come, not read without end. OSError is the caller's
    to word."""
    with open(path, "rb") as handle:
        if stat.S_ISDIR(os.fstat(handle.fileno()).st_mode):
            raise InputError(f"{path}: is a directory, not {what}")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{path}: larger than {limit:,} bytes; not {what}")
    return data


def _kind_of_file(path: Path) -> str:
    try:
        return kind_of(path.stat().st_mode)
    except OSError:
        return "not a file"


def read_text(path: Path, *, within: Path | None = None) -> str:
    """A site file's text, or an InputError naming the file (and line) for every way the
    file can be wrong: missing, a directory, a FIFO or device, a link out of the site
    (`within`: see read_site_bytes), unreadable, too big, not UTF-8, a NUL byte."""
    data = read_site_bytes(path, within=within)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB; not a site file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8"
        ) from None
    if "\0" in text:
        line = text[: text.index("\0")].count("\n") + 1
        raise InputError(f"{path}:{line}: contains a NUL byte; not a text file")
    return text


def parse_yaml(text: str, where: str, *, ansible: bool = False) -> Any:
    """YAML text → round-trip data; errors become `where:line: broken YAML: cause`.
    `ansible`: Ansible reads the file too, as YAML 1.1 (load_as_ansible)."""
    try:
        data = load_bounded(round_trip_yaml(), text, where)
        if ansible:
            load_as_ansible(text, where)
        return data
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"{where}:{mark.line + 1}" if mark else where
        raise InputError(f"{at}: broken YAML: {_one_line(exc.problem or exc.context)}") from None
    except ReaderError as exc:
        line = text[: max(exc.position, 0)].count("\n") + 1
        raise InputError(
            f"{where}:{line}: broken YAML: character {exc.character!r} is not allowed "
            "(control characters must be written as escapes in a double-quoted string)"
        ) from None
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{where}: broken YAML: {_one_line(first)}") from None


def _one_line(cause: object) -> str:
    """ruamel's cause on one line, at most a line's worth, without the text it quotes
    (`found undefined alias …`): an inventory's `ansible_become_password: *hunter2` had
    its password printed, and a quoted value may hold a line break or anything else."""
    text = str(cause)
    # A duplicate key is named (a key is a setting's name); its values are not.
    duplicate = re.match(r"found duplicate key (\"[^\"\n]{1,80}\"|'[^'\n]{1,80}')", text)
    text = f"duplicate key {duplicate[1]}" if duplicate else unquoted(text)
    text = printable(text)
    return text if len(text) <= 200 else text[:200] + "…"


def _check_expanded_size(data: Any, where: str) -> None:
    """Refuse a document of more than MAX_VALUES values with its aliases expanded."""
    if too_many_values(data):
        raise InputError(
            f"{where}: more than {MAX_VALUES:,} values once its aliases (*name) are "
            "expanded; not a site file"
        )


def load_document(
    path: Path, *, within: Path | None = None, text: str | None = None, ansible: bool = False
) -> CommentedMap:
    """Load a YAML mapping, turning every kind of bad file into `file:line: cause`
    (`within`: see read_site_bytes); `text`: the file's, already read (an edit's);
    `ansible`: a file Ansible reads too (the inventory, its variable files): see
    parse_yaml."""
    text = read_text(path, within=within) if text is None else text
    data = parse_yaml(text, str(path), ansible=ansible)
    _check_expanded_size(data, str(path))
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise InputError(f"{path}:1: expected a mapping of settings at the top level")
    return data


def dump_document(data: Any, *, explicit_null: bool = False, yaml: YAML | None = None) -> str:
    """`yaml`: one made for the file (an edit's: wmx.site.yaml_layout)."""
    yaml = yaml or round_trip_yaml()
    if explicit_null:
        yaml.Representer = _ExplicitNullRepresenter
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def write_atomically(
    path: Path,
    text: str | Callable[[BinaryIO], object],
    mode: int = 0o644,
    *,
    keep_mode: bool = True,
    follow_links: bool = True,
    purpose: str = "wmx writes a file of its own there",
    within: Path | None = None,
) -> None:
    """Replace `path` with `text` so that a reader sees the old file or the new one, never
    half of either, and a crash leaves the old one. `text` may be a function that fills
    the temporary file (a key export); if it raises, the old file stays.

    A unique temporary file in the target's directory is written, flushed to disk and
    renamed over the target. A symlink stays a symlink: its target is written. An existing
    file keeps its permission bits (`keep_mode`), a new one gets `mode`. Without
    `follow_links` (a file wmx writes for itself, not one of the operator's: see
    wmx.site.placed) a link, FIFO, device or directory at `path` is an InputError naming
    it and saying `purpose`; the rename replaces one put there after that look.

    The directory is opened once (wmx.site.placed.open_directory) and the look, the
    temporary file, the rename and the flush of the directory all go through that
    descriptor: a directory swapped for a link meanwhile redirects nothing. `within`: the
    highest directory above `path` that may be no link (without `follow_links`), whose
    components down to `path` are opened one at a time without following one.

    A write the disk refuses (full, read-only, over quota) is a WriteRefused naming the
    file (exit 1: not the operator's input), the old file untouched. The temporary file
    is named after this process: one left by a writer that was killed (it may hold a copy
    of secrets.yml) is removed by the next write of any file in the same directory.
    """
    if isinstance(text, str):
        data = text.encode("utf-8")
        fill: Callable[[BinaryIO], object] = lambda handle: handle.write(data)  # noqa: E731
    else:
        fill = text
    target = path.resolve() if follow_links and path.is_symlink() else path
    try:
        directory = open_directory(target.parent, purpose, within=within)
    except OSError as exc:
        raise WriteRefused(target, exc, kept=os.path.lexists(target)) from None
    try:
        _replace_in(directory, target, fill, mode, keep_mode, follow_links, purpose)
    finally:
        os.close(directory)


def _replace_in(
    directory: int,
    target: Path,
    fill: Callable[[BinaryIO], object],
    mode: int,
    keep_mode: bool,
    follow_links: bool,
    purpose: str,
) -> None:
    name = target.name
    if not follow_links:
        check_file_place(target, purpose, dir_fd=directory)
    # "Left as it was" is said of a file there was: a new one that failed is not there.
    kept = _exists_in(directory, name)
    if keep_mode:
        with contextlib.suppress(OSError):
            found = os.stat(name, dir_fd=directory, follow_symlinks=False).st_mode
            mode = found & 0o7777 if stat.S_ISREG(found) else mode
    _remove_orphans(target, directory)
    try:
        fd, tmp = _temporary(directory, target)
    except OSError as exc:
        raise WriteRefused(target, exc, kept=kept) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, name, src_dir_fd=directory, dst_dir_fd=directory)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=directory)
        if isinstance(exc, OSError):
            raise WriteRefused(target, exc, kept=kept) from None
        raise
    with contextlib.suppress(OSError):  # the rename is durable once the directory is
        os.fsync(directory)


def _exists_in(directory: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=directory, follow_symlinks=False)
    except OSError:
        return False
    return True


def _temporary(directory: int, target: Path) -> tuple[int, str]:
    """A new file (0600) in `directory` named `.NAME.PID.RANDOM.tmp`, made there and not
    through a link (O_EXCL, O_NOFOLLOW), and its name."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        name = f"{_temp_prefix(target)}{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(name, flags, 0o600, dir_fd=directory), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary name", _temp_prefix(target))


def _temp_prefix(target: Path) -> str:
    return f".{target.name}."


def _remove_orphans(target: Path, directory: int) -> None:
    """Remove from `directory`, `target`'s directory's descriptor, the temporary files
    of every file there whose writer is gone (killed mid-write), not only `target`'s."""
    remove_dead_temporaries(directory)


def dead_leftovers(
    directory: Path,
    prefix: str,
    separator: str = ".",
    *,
    own_only: bool = False,
) -> list[tuple[Path, str]]:
    """What a dead process left in `directory`: each entry named
    `{prefix}{PID}{separator}{rest}` whose process PID is gone (a run killed before it
    could clean up), with its `rest`, in name order; the caller removes what it
    recognises. `own_only` leaves out other users' entries. An unreadable directory has
    none."""
    try:
        listed = os.listdir(directory)
    except OSError:
        return []
    names = sorted(name for name in listed if name.startswith(prefix))
    found = []
    for name in names:
        pid_text, _, rest = name[len(prefix) :].partition(separator)
        if not (pid_text.isascii() and pid_text.isdigit()) or pid_alive(int(pid_text)):
            continue
        if own_only:
            try:
                if os.lstat(directory / name).st_uid != os.getuid():
                    continue
            except OSError:
                continue
        found.append((directory / name, rest))
    return found


def lock_path(path: Path) -> Path:
    """The lock file beside `path` (`.wmx.yaml.lock` for wmx.yaml); never deleted, since
    deleting a lock file lets two processes lock two different files."""
    return path.with_name(f".{path.name}.lock")


# The locks this process holds, by lock file and thread: a workflow that holds one (a
# deploy, from its render through its Ansible run) calls functions that take it again.
_held: dict[tuple[Path, int], int] = {}


@contextlib.contextmanager
def locked(path: Path, *, busy: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock for a read-modify-write of `path`: wait for other wmx runs,
    or, given `busy`, refuse at once with that message while another run holds it.

    Re-entrant within a thread: taken again where it is held, it is held on, and released
    when the outermost hold ends. Another thread of this process waits or refuses as
    another run would."""
    lock = lock_path(path)
    key = (Path(os.path.abspath(lock)), threading.get_ident())
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    fd = open_lock_file(lock)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if busy:
                raise WmxError(busy) from None
            # Said once, before the wait: a command that stops without a word looks hung.
            print(
                f"wmx: waiting for another wmx run, which holds {printable(str(lock))}",
                file=sys.stderr,
            )
            fcntl.flock(fd, fcntl.LOCK_EX)
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
    finally:
        os.close(fd)  # closing releases the lock


def line_of(data: Any, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line where the deepest existing part of `loc` is written."""
    line: int | None = None
    node = data
    for part in loc:
        try:
            if isinstance(node, CommentedMap) and part not in node:
                # pydantic names a key that is not text (`? [a, b]`, `~`) by its str()
                part = next((k for k in node if not isinstance(k, str) and str(k) == part), part)
            if isinstance(node, CommentedMap) and part in node:
                position = node.lc.key(part)
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                position = node.lc.item(part)
            else:
                break
        except KeyError:
            break  # a key `wmx config set` just added has no line yet: its parent's
        # ruamel keeps no positions inside `!!omap` (a map all the same): its parent's
        if position is None:
            break
        line = position[0] + 1
        node = node[part]
    return line
