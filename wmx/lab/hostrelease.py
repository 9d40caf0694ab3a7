"""Which Debian release each lab host runs, and the rootfs a new host is copied from.

A host's release is what its disk says (/etc/os-release), not a record of how it was
created: a host moved from 12 to 13 in place (`wmx upgrade os`) is a trixie host from then
on. The release a new host gets comes from `wmx lab up --release` (for all of this `up`'s
hosts, or ``HOST=RELEASE`` for one), else $WMX_LAB_RELEASE, else wmx/debian.py's default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from wmx.debian import DEFAULT_RELEASE, RELEASES, release
from wmx.errors import InputError
from wmx.lab import rootfs
from wmx.lab.errors import LabError
from wmx.lab.paths import LabPaths

# The release new lab hosts get when `up` is not told (the e2e tier sets it per run).
RELEASE_VARIABLE = "WMX_LAB_RELEASE"


def default_release() -> str:
    """$WMX_LAB_RELEASE if set (checked), else the default release of wmx/debian.py."""
    given = os.environ.get(RELEASE_VARIABLE, "").strip()
    if not given:
        return DEFAULT_RELEASE
    try:
        return release(given).codename
    except InputError as error:
        raise LabError(f"${RELEASE_VARIABLE}: {error}") from None


def disk_release(root: Path) -> str | None:
    """The codename in a host directory's /etc/os-release, or None without one."""
    # /etc/os-release is a link to this file, which could point outside the host's root.
    try:
        text = (root / "usr/lib/os-release").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME":
            return value.strip().strip("\"'") or None
    return None


def nspawn_env(root: Path) -> list[str]:
    """argv prefix that boots the host at ``root`` with a cgroup v2 tree of its own.

    This machine mounts cgroups hybrid (v1 controllers, v2 for systemd's tracking), and
    nspawn gives a container the machine's layout unless asked for v2. systemd 256 and
    later (Debian 13's 257) deprecate cgroup v1 and hybrid trees (258 drops them), so such
    hosts run on the tree their systemd is made for.
    """
    known = RELEASES.get(disk_release(root) or "")
    if known is None or known.systemd < 256:
        return []
    return ["env", "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1"]


def parse_releases(values: Iterable[str], hosts: Iterable[str]) -> dict[str, str]:
    """`--release` values (``trixie``, ``bookworm``, ``lab2=bookworm``) → release per host.

    A bare release applies to every host of ``hosts``; ``HOST=RELEASE`` to that host only
    (it must be one of ``hosts``). A host named by neither is absent: a new one gets the
    default release, an existing one keeps the one it runs.
    """
    wanted = list(hosts)
    bare: str | None = None
    per_host: dict[str, str] = {}
    for value in values:
        host, sep, name = value.partition("=")
        if not sep:
            if bare is not None:
                raise InputError(f"--release {value!r}: a release for all hosts was given already")
            bare = release(value.strip()).codename
            continue
        host = host.strip()
        if host not in wanted:
            raise InputError(f"--release {value!r}: {host!r} is not among {', '.join(wanted)}")
        per_host[host] = release(name.strip()).codename
    if bare is not None:
        return {host: per_host.get(host, bare) for host in wanted}
    return per_host


def sources(
    paths: LabPaths,
    wanted: Sequence[str],
    values: Sequence[str],
    progress: Callable[[str], None],
) -> dict[str, Path | None]:
    """The rootfs each new host of ``wanted`` is copied from (``values``: `--release`).

    A host that exists keeps its disk (None); asking it for another release than the one
    it runs is refused, since `up` never replaces a disk. A rootfs cache is built (under
    its own lock) only for a release a new host needs.
    """
    releases = parse_releases(values, wanted)
    found: dict[str, Path | None] = {}
    for host in wanted:
        asked = releases.get(host)
        root = paths.host_root(host)
        if root.is_dir():
            running = disk_release(root)
            if asked is not None and running is not None and running != asked:
                raise LabError(
                    f"{host} runs Debian {running}, not {asked}: remove it first "
                    f"(`wmx lab down`, or another host name) to start it afresh"
                )
            found[host] = None
            continue
        found[host] = rootfs.ensure_rootfs(paths, progress, asked or default_release())
    return found
