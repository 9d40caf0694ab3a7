"""Snapshots: copies of lab hosts' disks that later hosts boot from instead of deploying.

A first deploy takes minutes; copying a deployed host's tree takes seconds. A snapshot
holds one or more hosts (a site spread over several), under the names they had: a host
restored from it keeps its name, address, SSH host keys and everything a deploy wrote
that refers to them. It also keeps the pebble roots that were current when it was taken,
since the certificates on its disks chain to them and pebble makes a new root each time
it starts.

A running host is copied frozen: every process of the container is stopped (SIGSTOP)
while its tree is copied, then continued. The copy is what a crash at that instant would
leave, never a file half-written by a process that went on writing during the copy;
PostgreSQL recovers from it when the copy boots, as from any crash.

Snapshots live in the cache directory (``snapshots/<name>/``), survive `down` and go
with `down --purge`. A snapshot is built under a temporary name and renamed into place
when complete, so a directory named after a snapshot is always a whole one. The caller's
``meta`` (e.g. a digest of what was deployed) is stored with it, for the caller to decide
whether the snapshot still stands for what it would deploy now.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wmx.lab import commands, mounts
from wmx.lab.errors import LabError
from wmx.lab.paths import LabPaths

FORMAT = 1
META_FILE = "snapshot.json"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")


@dataclass(frozen=True)
class Snapshot:
    name: str
    directory: Path
    hosts: tuple[str, ...]
    created_at: str
    meta: dict[str, Any] = field(default_factory=dict)
    # PEM certificates: pebble's roots when the snapshot was taken.
    trust: tuple[str, ...] = ()
    # The extra .test names that mapped to its hosts (a site's server name, ...).
    names: dict[str, str] = field(default_factory=dict)

    def host_tree(self, host: str) -> Path:
        return self.directory / "hosts" / host


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise LabError(
            f"{name!r} is not a snapshot name: lowercase letters, digits, '.', '_' and '-', "
            "at most 80, starting with a letter or digit"
        )
    return name


def snapshot_dir(paths: LabPaths, name: str) -> Path:
    return paths.snapshots_dir / check_name(name)


def load(paths: LabPaths, name: str) -> Snapshot | None:
    """The snapshot called ``name``, or None if there is none (or not a whole one)."""
    directory = snapshot_dir(paths, name)
    try:
        data = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    hosts = tuple(str(h) for h in data.get("hosts", []))
    if not hosts or not all((directory / "hosts" / h).is_dir() for h in hosts):
        return None
    return Snapshot(
        name=name,
        directory=directory,
        hosts=hosts,
        created_at=str(data.get("created_at", "")),
        meta=dict(data.get("meta") or {}),
        trust=tuple(str(pem) for pem in data.get("trust", [])),
        names={str(k): str(v) for k, v in dict(data.get("names") or {}).items()},
    )


def list_snapshots(paths: LabPaths) -> list[Snapshot]:
    if not paths.snapshots_dir.is_dir():
        return []
    found = []
    for entry in sorted(paths.snapshots_dir.iterdir()):
        if entry.is_dir() and _NAME.fullmatch(entry.name):
            snapshot = load(paths, entry.name)
            if snapshot is not None:
                found.append(snapshot)
    return found


def take(
    paths: LabPaths,
    name: str,
    roots: dict[str, Path],
    meta: dict[str, Any],
    trust: list[str],
    names: dict[str, str],
) -> Snapshot:
    """Copy each host's tree (``roots``: host name -> its root) into snapshot ``name``.

    The caller keeps the hosts still (stopped, or frozen) while this runs. An existing
    snapshot of that name is replaced only once the new one is complete.
    """
    final = snapshot_dir(paths, name)
    paths.snapshots_dir.mkdir(parents=True, exist_ok=True)
    paths.snapshots_dir.chmod(0o700)  # host disks hold a site's secrets and keys
    partial = paths.snapshots_dir / f".{name}.partial-{os.getpid()}"
    mounts.remove_tree(partial)
    try:
        (partial / "hosts").mkdir(parents=True)
        for host, root in roots.items():
            # --one-file-system: the caches bind-mounted into a running host stay out.
            commands.run(
                [
                    "cp",
                    "-a",
                    "--one-file-system",
                    "--reflink=auto",
                    str(root),
                    str(partial / "hosts" / host),
                ],
                timeout=1800,
            )
        record = {
            "format": FORMAT,
            "hosts": list(roots),
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "meta": meta,
            "trust": trust,
            "names": names,
        }
        (partial / META_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if final.exists():
            old = paths.snapshots_dir / f".{name}.old-{os.getpid()}"
            os.rename(final, old)
            os.rename(partial, final)
            mounts.remove_tree(old, background=True)
        else:
            os.rename(partial, final)
    except BaseException:
        mounts.remove_tree(partial)
        raise
    snapshot = load(paths, name)
    assert snapshot is not None
    return snapshot


def copy_host(snapshot: Snapshot, host: str, dest: Path) -> None:
    """Make ``dest`` (which must not exist) a copy of ``host``'s tree in the snapshot."""
    partial = dest.with_name(f".{dest.name}.partial")
    mounts.remove_tree(partial)
    try:
        commands.run(
            ["cp", "-a", "--reflink=auto", str(snapshot.host_tree(host)), str(partial)],
            timeout=1800,
        )
        os.rename(partial, dest)
    except BaseException:
        mounts.remove_tree(partial)
        raise


def delete(paths: LabPaths, name: str) -> bool:
    """Delete snapshot ``name``; False if there was none."""
    directory = snapshot_dir(paths, name)
    if not directory.exists():
        return False
    mounts.remove_tree(directory)
    return True
