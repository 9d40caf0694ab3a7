"""The managed ``# BEGIN wmx lab`` block in hosts files (the machine's and each host's).

Lab names live under the reserved ``.test`` domain and resolve through /etc/hosts rather
than a DNS server, so that no resolver on the machine has to be reconfigured and removing
the block undoes everything.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

BEGIN_MARKER = "# BEGIN wmx lab"
END_MARKER = "# END wmx lab"


def render_block(names_by_address: Mapping[str, Iterable[str]]) -> str:
    """One line per address, names in the order given; addresses sorted numerically."""
    lines = [BEGIN_MARKER, "# managed by `wmx lab`; edits here are lost on the next `wmx lab up`"]
    for address in sorted(names_by_address, key=_address_sort_key):
        names = list(dict.fromkeys(names_by_address[address]))
        if names:
            lines.append(f"{address} {' '.join(names)}")
    lines.append(END_MARKER)
    return "\n".join(lines) + "\n"


def replace_block(text: str, block: str | None) -> str:
    """Return ``text`` with the managed block replaced by ``block`` (None removes it).

    Every existing block is dropped (an operator may have copied one), and the new one is
    appended at the end. A BEGIN without END drops to the end of the file: that can only
    be a block we wrote and that someone truncated.
    """
    kept: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if not inside and stripped == BEGIN_MARKER:
            inside = True
            continue
        if inside:
            if stripped == END_MARKER:
                inside = False
            continue
        kept.append(line)
    result = "".join(kept)
    if result and not result.endswith("\n"):
        result += "\n"
    if block is not None:
        result += block
    return result


def update_hosts_file(path: Path, block: str | None) -> bool:
    """Rewrite the managed block of ``path``; True if the file changed.

    The file is replaced atomically (write + rename) so a resolver never reads half a file.
    When ``path`` is a mount point (container runtimes bind-mount /etc/hosts) rename is
    impossible and the file is rewritten in place instead.
    """
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if block is None:
            return False
        old = ""
    new = replace_block(old, block)
    if new == old:
        return False
    _write_atomically(path, new)
    return True


def _write_atomically(path: Path, text: str) -> None:
    try:
        stat = path.stat()
        mode, uid, gid = stat.st_mode & 0o7777, stat.st_uid, stat.st_gid
    except FileNotFoundError:
        mode, uid, gid = 0o644, 0, 0
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp_file:
            tmp_file.write(text)
            tmp_file.flush()
            os.fsync(tmp_file.fileno())
        os.chmod(tmp, mode)
        with contextlib.suppress(PermissionError):
            os.chown(tmp, uid, gid)
        try:
            os.replace(tmp, path)
        except OSError as error:
            if error.errno not in (errno.EBUSY, errno.EXDEV):
                raise
            path.write_text(text, encoding="utf-8")
    finally:
        tmp.unlink(missing_ok=True)


def _address_sort_key(address: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in address.split("."))
    except ValueError:
        return (1 << 16,)
