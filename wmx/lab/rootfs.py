"""The Debian root filesystems lab hosts are copied from, one per release, built once and cached.

debootstrap takes about a minute, so its result is kept in the cache directory. It is
built in a temporary directory and renamed into place only when complete, so a run that
is killed half-way never leaves a cache that later runs would trust. A stamp file records
the recipe; changing the recipe (packages, configuration) rebuilds the cache. Releases are
those of wmx/debian.py (trixie, bookworm); each has its own cache and build log.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from wmx.debian import release as debian_release
from wmx.lab import commands, mounts
from wmx.lab.errors import LabError
from wmx.lab.paths import LabPaths

MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"

# What a freshly provisioned Debian VPS typically has, plus what Ansible needs on the
# target (python3, python3-apt for the apt module, sudo for become) so the first deploy
# does not have to bootstrap them.
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "libpam-systemd",
    "openssh-server",
    "python3",
    "python3-apt",
    "sudo",
    "ca-certificates",
    "curl",
    "gnupg",
    "iproute2",
    "iputils-ping",
    "netbase",
    "procps",
    "less",
    "locales",
)

# Bump when the configuration below changes, so existing caches are rebuilt.
CONFIG_REVISION = 2

STAMP = Path("etc/wmx-lab-rootfs.json")


def sources_list(suite: str) -> str:
    """apt's sources of a host of ``suite``: the release, its updates and security."""
    security = debian_release(suite).security_suite
    return (
        "# Written by wmx lab: the same mirror the machine uses, plus updates and security.\n"
        f"deb {MIRROR} {suite} main\n"
        f"deb {MIRROR} {suite}-updates main\n"
        f"deb {SECURITY_MIRROR} {security} main\n"
    )


APT_CONF = """\
// Written by wmx lab. The machine bind-mounts a cache into /var/cache/apt/archives;
// apt deletes downloaded packages after installing unless told to keep them.
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT::Keep-Downloaded-Packages "true";
Acquire::Retries "3";
"""

# pip vendors its own CA list (certifi) in venvs upgraded from PyPI; point it at the
# system store, which trusts the machine's proxy CA and the lab CAs.
PIP_CONF = """\
# Written by wmx lab: use the system trust store (it holds the lab's CAs).
[global]
cert = /etc/ssl/certs/ca-certificates.crt
"""

# systemd in a container on this machine's hybrid cgroup tree is never told that a
# stopped unit's cgroup became empty, so each stop waits for its timeout: the root user's
# manager (from SSH sessions) alone would hold a reboot for two minutes.
STOP_TIMEOUTS = {
    "etc/systemd/system.conf.d/80-wmx-lab.conf": "[Manager]\nDefaultTimeoutStopSec=15s\n",
    "etc/systemd/system/user@.service.d/80-wmx-lab.conf": "[Service]\nTimeoutStopSec=5s\n",
}

# Timers that would run apt in the background right when a test deploys; a lab host is
# thrown away long before it needs unattended package list refreshes.
MASKED_UNITS = ("apt-daily.timer", "apt-daily-upgrade.timer")

# Runs inside the new rootfs (systemd-nspawn, not booted, host network). policy-rc.d keeps
# package scripts from starting services while upgrading a tree that is not running.
CONFIGURE_SCRIPT = """\
set -e
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
apt-get update
apt-get -y -o Dpkg::Options::=--force-confold dist-upgrade
locale-gen
apt-get clean
rm -f /usr/sbin/policy-rc.d
rm -f /etc/ssh/ssh_host_*
"""


def recipe(suite: str) -> dict[str, object]:
    return {
        "suite": suite,
        "mirror": MIRROR,
        "packages": list(PACKAGES),
        "config_revision": CONFIG_REVISION,
    }


def recipe_digest(suite: str) -> str:
    """What a rootfs of ``suite`` is made from, as a digest (its cache's stamp)."""
    return hashlib.sha256(json.dumps(recipe(suite), sort_keys=True).encode()).hexdigest()[:16]


def is_current(rootfs: Path, suite: str) -> bool:
    try:
        stamp = json.loads((rootfs / STAMP).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp.get("recipe_digest") == recipe_digest(suite)


def ensure_rootfs(paths: LabPaths, progress: Callable[[str], None], suite: str) -> Path:
    """Return the cached rootfs of ``suite``, building it first if missing or outdated."""
    suite = debian_release(suite).codename
    final = paths.rootfs(suite)
    if is_current(final, suite):
        return final
    paths.rootfs_cache_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(paths.rootfs_cache_dir / ".lock"):
        if is_current(final, suite):  # another run built it while we waited
            return final
        _remove_partial_builds(paths, final)
        partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
        try:
            _build(partial, suite, paths.rootfs_build_log(suite), progress)
            _swap_into_place(partial, final)
        except BaseException:
            mounts.remove_tree(partial)
            raise
    return final


def _build(target: Path, suite: str, log_path: Path, progress: Callable[[str], None]) -> None:
    target.mkdir(parents=True)
    with log_path.open("w", encoding="utf-8") as log:
        version = debian_release(suite).version
        progress(f"Building the Debian {version} ({suite}) rootfs with debootstrap (minutes)")
        _logged(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                suite,
                str(target),
                MIRROR,
            ],
            log,
            log_path,
        )
        progress("Configuring the rootfs (apt sources, security updates, locales)")
        _write_config(target, suite)
        _logged(
            [
                "systemd-nspawn",
                "--quiet",
                f"--directory={target}",
                "--register=no",
                "--keep-unit",
                "--as-pid2",
                "--resolv-conf=copy-host",
                "--timezone=off",
                "--link-journal=no",
                "--setenv=DEBIAN_FRONTEND=noninteractive",
                "/bin/sh",
                "-c",
                CONFIGURE_SCRIPT,
            ],
            log,
            log_path,
        )
        stamp = {
            **recipe(suite),
            "recipe_digest": recipe_digest(suite),
            "built_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        (target / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def _write_config(root: Path, suite: str) -> None:
    (root / "etc/apt/sources.list").write_text(sources_list(suite), encoding="utf-8")
    (root / "etc/apt/apt.conf.d/80wmx-lab").write_text(APT_CONF, encoding="utf-8")
    (root / "etc/pip.conf").write_text(PIP_CONF, encoding="utf-8")
    (root / "etc/locale.gen").write_text("en_US.UTF-8 UTF-8\nC.UTF-8 UTF-8\n", encoding="utf-8")
    (root / "etc/default/locale").write_text("LANG=C.UTF-8\n", encoding="utf-8")
    (root / "etc/hostname").write_text("localhost\n", encoding="utf-8")
    # Empty machine-id: each host gets its own when it is created.
    (root / "etc/machine-id").write_text("", encoding="utf-8")
    units = root / "etc/systemd/system"
    units.mkdir(parents=True, exist_ok=True)
    for relative, text in STOP_TIMEOUTS.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("# Written by wmx lab.\n" + text, encoding="utf-8")
    for unit in MASKED_UNITS:
        link = units / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    # Timezone UTC, as on most VPS images.
    localtime = root / "etc/localtime"
    localtime.unlink(missing_ok=True)
    localtime.symlink_to("/usr/share/zoneinfo/Etc/UTC")
    (root / "etc/timezone").write_text("Etc/UTC\n", encoding="utf-8")


def _logged(argv: list[str], log: TextIO, log_path: Path) -> None:
    """Run a long build step with its output in the build log, not on the terminal."""
    log.write(f"$ {' '.join(argv[:6])}\n")
    log.flush()
    proc = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=commands.clean_env(),
        timeout=3600,
        check=False,
    )
    if proc.returncode != 0:
        tail = _tail(log_path)
        raise LabError(
            f"{argv[0]} failed with exit status {proc.returncode} "
            f"(log: {log_path}){': ' + tail if tail else ''}"
        )


def _tail(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln]
    except FileNotFoundError:
        return ""
    return lines[-1].strip() if lines else ""


def _remove_partial_builds(paths: LabPaths, final: Path) -> None:
    for leftover in paths.rootfs_cache_dir.glob(f".{final.name}.*"):
        mounts.remove_tree(leftover)


def _swap_into_place(new: Path, final: Path) -> None:
    """Rename the finished tree into place; an outdated cache is moved aside first."""
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.rename(final, old)
        os.rename(new, final)
        mounts.remove_tree(old)
    else:
        os.rename(new, final)


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    with path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
