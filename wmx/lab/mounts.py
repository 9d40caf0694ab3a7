"""Deleting a lab directory without ever following a mount out of it.

A host directory is the root of a container whose caches are bind-mounted from the
machine, and debootstrap mounts /proc and /sys inside the tree it builds. Those mounts
live in private namespaces while things run normally, but a killed run can leave some in
ours. A recursive delete that walked into one would empty the shared apt cache (or /proc),
and ``rm --one-file-system`` does not notice a bind mount of the same filesystem. So:
unmount everything below the directory, check via mountinfo that nothing is left, and only
then delete.
"""

from __future__ import annotations

import os
from pathlib import Path

from wmx.lab import commands
from wmx.lab.errors import LabError

MOUNTINFO = Path("/proc/self/mountinfo")


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal sequences.
    out: list[str] = []
    i = 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_points(mountinfo: str | None = None) -> list[Path]:
    text = MOUNTINFO.read_text(encoding="utf-8") if mountinfo is None else mountinfo
    points = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            points.append(Path(_unescape(fields[4])))
    return points


def mounts_under(root: Path, mountinfo: str | None = None) -> list[Path]:
    """Mount points at or below ``root``, deepest first (the order to unmount them in)."""
    root = Path(os.path.abspath(root))
    found = {p for p in mount_points(mountinfo) if p == root or root in p.parents}
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def unmount_below(root: Path) -> None:
    """Unmount everything at or below ``root``; lazily if a mount is busy."""
    for _ in range(5):  # a mount point can be stacked several times
        points = mounts_under(root)
        if not points:
            return
        for point in points:
            result = commands.run(["umount", str(point)], check=False)
            if result.returncode != 0:
                commands.run(["umount", "--lazy", str(point)], check=False)
    left = mounts_under(root)
    if left:
        raise LabError(f"cannot unmount {left[0]}; not deleting {root}")


def remove_tree(root: Path) -> None:
    """Delete ``root`` recursively, after making sure no mount is left below it."""
    if not root.exists() and not root.is_symlink():
        return
    unmount_below(root)
    if root.is_symlink() or not root.is_dir():
        root.unlink()
        return
    # The unmount check above is what protects the caches; --one-file-system is a second
    # line of defence against a mount appearing meanwhile from another filesystem.
    commands.run(["rm", "-rf", "--one-file-system", "--", str(root)], timeout=600)
