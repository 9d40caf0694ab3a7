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
import subprocess
import time
from pathlib import Path

from wmx.lab import commands, processes
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


# Trees being deleted in the background sit beside where they were, under this prefix.
DISCARDED = ".discarded-"


def remove_tree(root: Path, *, background: bool = False) -> None:
    """Delete ``root`` recursively, after making sure no mount is left below it.

    ``background``: return without waiting for the delete. ``root`` is renamed out of the
    way (a new tree may take its name at once) and a detached `rm` deletes it, with any
    tree an earlier such delete in the same directory left behind (the machine stopped
    before its `rm` was done). A deployed host's or a snapshot's gigabytes take seconds to
    delete, and minutes while the disk still writes back a copy just made. When the
    rename cannot be done (another filesystem), the delete is waited for.
    """
    if not root.exists() and not root.is_symlink():
        return
    unmount_below(root)
    if root.is_symlink() or not root.is_dir():
        root.unlink()
        return
    if background:
        aside = root.parent / f"{DISCARDED}{os.getpid()}-{time.monotonic_ns()}"
        try:
            os.rename(root, aside)
        except OSError:
            pass
        else:
            root = aside
            doomed = sorted(str(p) for p in root.parent.glob(f"{DISCARDED}*") if p.is_dir())
            try:
                detach(["rm", "-rf", "--one-file-system", "--", *doomed])
                return
            except (OSError, subprocess.SubprocessError):
                pass
    # The unmount check above is what protects the caches; --one-file-system is a second
    # line of defence against a mount appearing meanwhile from another filesystem.
    commands.run(["rm", "-rf", "--one-file-system", "--", str(root)], timeout=600)


def detach(argv: list[str]) -> None:
    """Start ``argv`` in a session of its own and return at once: setsid --fork, so the
    command outlives this process (a test session, a CLI command) and leaves no zombie."""
    subprocess.run(
        ["setsid", "--fork", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=commands.clean_env(),
        timeout=60,
        check=True,
    )


def wait_for_background_removals(*under: Path, timeout: float = 600) -> None:
    """Wait until the detached deletes (``remove_tree(..., background=True)``) of trees
    below any of ``under`` have ended: `down` leaves no process of the lab behind."""
    prefixes = tuple(f"{os.path.abspath(place)}/" for place in under)

    def deleting(argv: list[str]) -> bool:
        # Until the forked child has exec'd `rm` (right after `detach` returns) its command
        # line is still setsid's: the same process, so it is waited for under either.
        if argv[:2] == ["setsid", "--fork"]:
            argv = argv[2:]
        return argv[:1] == ["rm"] and any(a.startswith(prefixes) and DISCARDED in a for a in argv)

    processes.wait_gone(processes.find_pids(deleting), timeout)
    # A delete caught as it exec'd `rm` shows no command line for that moment and was not
    # waited for (a loaded CI machine): look once more, then delete what is still left
    # here in the foreground (beside such an `rm`, both -f: neither minds the other).
    left = [
        p for place in under for p in (*place.glob(f"{DISCARDED}*"), *place.glob(f"*/{DISCARDED}*"))
    ]
    if left:
        processes.wait_gone(processes.find_pids(deleting), timeout)
        doomed = [str(p) for p in left if p.is_dir() and not p.is_symlink()]
        if doomed:
            commands.run(["rm", "-rf", "--one-file-system", "--", *doomed], timeout=timeout)
