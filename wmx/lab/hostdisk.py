"""A host's root filesystem: a copy of the cached rootfs, given its own identity.

A full copy (reflinked where the filesystem can) rather than an overlay keeps a host an
ordinary directory: it can be inspected, and deleted, with nothing mounted on the machine.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from wmx.lab import acme, commands, hostsfile, mounts, sshkeys, wheelhouse
from wmx.lab.paths import LabPaths

TRUST_SUBDIR = Path("usr/local/share/ca-certificates/wmx-lab")

BASE_HOSTS = """\
127.0.0.1\tlocalhost
::1\t\tlocalhost ip6-localhost ip6-loopback
ff02::1\t\tip6-allnodes
ff02::2\t\tip6-allrouters
"""


def create_host_root(paths: LabPaths, host: str, rootfs: Path, public_key: str) -> bool:
    """Copy the rootfs for ``host`` unless it exists; True if created now.

    The copy is made under a temporary name and renamed when complete, so a directory
    named after a host is always a whole host.
    """
    root = paths.host_root(host)
    if root.is_dir():
        return False
    paths.hosts_dir.mkdir(parents=True, exist_ok=True)
    partial = paths.hosts_dir / f".{host}.partial"
    mounts.remove_tree(partial)
    commands.run(["cp", "-a", "--reflink=auto", str(rootfs), str(partial)], timeout=600)
    try:
        _give_identity(partial, host, public_key)
    except BaseException:
        mounts.remove_tree(partial)
        raise
    os.rename(partial, root)
    return True


def _give_identity(root: Path, host: str, public_key: str) -> None:
    (root / "etc/hostname").write_text(f"{host}\n", encoding="utf-8")
    # systemd, journald and D-Bus key things off machine-id; copies must not share one.
    (root / "etc/machine-id").write_text(f"{uuid.uuid4().hex}\n", encoding="ascii")
    (root / "etc/hosts").write_text(BASE_HOSTS, encoding="utf-8")
    sshkeys.generate_host_keys(root, host)
    sshkeys.install_authorized_key(root, public_key)
    # A lab host is thrown away, never recovered after a power cut: dpkg need not fsync
    # every file it unpacks, which is most of the time a deploy's package installs take.
    dpkg_cfg = root / "etc/dpkg/dpkg.cfg.d"
    dpkg_cfg.mkdir(parents=True, exist_ok=True)
    (dpkg_cfg / "80wmx-lab-unsafe-io").write_text(
        "# Written by wmx lab: no fsync per unpacked file.\nforce-unsafe-io\n", encoding="utf-8"
    )
    for cache in ("var/cache/apt/archives", "root/.cache/pip"):
        (root / cache).mkdir(parents=True, exist_ok=True)


def trust_certificates(paths: LabPaths) -> dict[str, str]:
    """What every host must trust: the machine's extra CAs, the lab CA, pebble's roots."""
    trust: dict[str, str] = {}
    machine_cas = Path("/usr/local/share/ca-certificates")
    if machine_cas.is_dir():
        for crt in sorted(machine_cas.rglob("*.crt")):
            if crt.is_file():
                trust[f"machine-{crt.stem}.crt"] = crt.read_text(encoding="ascii")
    trust["wmx-lab-ca.crt"] = paths.ca_cert.read_text(encoding="ascii")
    for i, pem in enumerate(acme.current_roots(paths)):
        trust[f"pebble-root-{i}.crt"] = pem
    return trust


def prepare(paths: LabPaths, host: str, nameservers: list[str], trust: Mapping[str, str]) -> None:
    """What every `up` brings up to date on a host's disk: its resolvers, its shared
    caches (apt packages, pip, the wheelhouse) and the CAs it trusts."""
    root = paths.host_root(host)
    write_resolv_conf(root, nameservers)
    seed_apt_cache(paths, host)
    paths.pip_cache.mkdir(parents=True, exist_ok=True)
    paths.wheelhouse.mkdir(parents=True, exist_ok=True)
    (root / wheelhouse.IN_HOST.relative_to("/")).mkdir(parents=True, exist_ok=True)
    wheelhouse.add_find_links(root / "etc/pip.conf")
    sync_trust(root, trust)


def write_resolv_conf(root: Path, nameservers: list[str]) -> None:
    resolv = root / "etc/resolv.conf"
    if resolv.is_symlink():
        resolv.unlink()
    lines = ["# written by wmx lab: the machine's upstream resolvers"]
    lines += [f"nameserver {server}" for server in nameservers]
    resolv.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_hosts_block(root: Path, block: str) -> None:
    hostsfile.update_hosts_file(root / "etc/hosts", block)


def sync_trust(root: Path, certificates: Mapping[str, str]) -> bool:
    """Make the host trust exactly ``certificates`` (file name -> PEM) besides Debian's.

    Returns True if anything changed (then update-ca-certificates has rebuilt the store).
    It runs chrooted into the host directory, which works whether the host is running or
    not: it only rewrites files under /etc/ssl.
    """
    trust_dir = root / TRUST_SUBDIR
    trust_dir.mkdir(parents=True, exist_ok=True)
    changed = False
    for existing in trust_dir.iterdir():
        if existing.name not in certificates:
            existing.unlink()
            changed = True
    for name, pem in certificates.items():
        path = trust_dir / name
        try:
            if path.read_text(encoding="ascii") == pem:
                continue
        except FileNotFoundError:
            pass
        path.write_text(pem, encoding="ascii")
        path.chmod(0o644)
        changed = True
    if changed:
        commands.run(["chroot", str(root), "update-ca-certificates"], timeout=120)
    return changed


def seed_apt_cache(paths: LabPaths, host: str) -> None:
    """Hard-link into ``host``'s apt cache every package another host has downloaded.

    Each host has its own archive directory because apt locks it for a whole install and
    fails (rather than waits) when it is taken, so hosts deploying in parallel cannot
    share one. Hard links make the sharing free of copies and of write races: apt only
    ever renames new files in and deletes, and it checks a package's hash before use.
    """
    own = paths.apt_archives_for(host)
    (own / "partial").mkdir(parents=True, exist_ok=True)
    present = {p.name for p in own.glob("*.deb")}
    for other in paths.apt_archives.iterdir():
        if other == own or not other.is_dir():
            continue
        for deb in other.glob("*.deb"):
            if deb.name not in present and deb.is_file():
                with contextlib.suppress(FileExistsError):
                    os.link(deb, own / deb.name)
                present.add(deb.name)
