"""Where the lab keeps things on the machine.

Two roots: the state directory (keys, CA, host disks, logs, state.json; deleted by
``down`` except keys and CA) and the cache directory (the debootstrapped rootfs and the
apt/pip caches shared into hosts, snapshots of hosts; kept by ``down``, removed by
``down --purge``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/wmx/lab")
DEFAULT_CACHE_DIR = Path("/var/cache/wmx")


@dataclass(frozen=True)
class LabPaths:
    state_dir: Path = DEFAULT_STATE_DIR
    cache_dir: Path = DEFAULT_CACHE_DIR

    # --- caches (survive `down`) -------------------------------------------------------
    @property
    def rootfs_cache_dir(self) -> Path:
        return self.cache_dir / "lab"

    def rootfs(self, release: str) -> Path:
        """The cached rootfs of a Debian release (its codename: one cache per release)."""
        return self.rootfs_cache_dir / f"rootfs-{release}"

    def rootfs_build_log(self, release: str) -> Path:
        return self.rootfs_cache_dir / f"rootfs-{release}.log"

    @property
    def apt_archives(self) -> Path:
        return self.cache_dir / "apt-archives"

    def apt_archives_for(self, host: str) -> Path:
        return self.apt_archives / host

    @property
    def pip_cache(self) -> Path:
        return self.cache_dir / "pip"

    @property
    def wheelhouse(self) -> Path:
        """Wheels every host installs from (wmx/lab/wheelhouse.py)."""
        return self.cache_dir / "wheels"

    @property
    def snapshots_dir(self) -> Path:
        """Copies of deployed hosts' disks (wmx/lab/snapshots.py)."""
        return self.cache_dir / "snapshots"

    # --- identity (survives `down`, not `down --purge`) ----------------------------------
    @property
    def ssh_dir(self) -> Path:
        return self.state_dir / "ssh"

    @property
    def ssh_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.ssh_dir / "known_hosts"

    @property
    def ca_dir(self) -> Path:
        return self.state_dir / "ca"

    @property
    def ca_key(self) -> Path:
        return self.ca_dir / "lab-ca.key"

    @property
    def ca_cert(self) -> Path:
        return self.ca_dir / "lab-ca.crt"

    @property
    def pebble_tls_key(self) -> Path:
        return self.ca_dir / "pebble-tls.key"

    @property
    def pebble_tls_cert(self) -> Path:
        return self.ca_dir / "pebble-tls.crt"

    @property
    def pebble_roots(self) -> Path:
        return self.ca_dir / "pebble-roots.pem"

    @property
    def pebble_intermediates(self) -> Path:
        return self.ca_dir / "pebble-intermediates.pem"

    @property
    def trust_bundle(self) -> Path:
        return self.ca_dir / "trust.pem"

    # --- running lab (removed by `down`) ---------------------------------------------
    @property
    def acme_dir(self) -> Path:
        return self.state_dir / "acme"

    @property
    def hosts_dir(self) -> Path:
        return self.state_dir / "hosts"

    def host_root(self, host: str) -> Path:
        return self.hosts_dir / host

    def host_log(self, host: str) -> Path:
        return self.hosts_dir / f"{host}.log"

    def host_boot_spec(self, host: str) -> Path:
        return self.hosts_dir / f"{host}.json"

    def supervisor_pidfile(self, host: str) -> Path:
        return self.hosts_dir / f"{host}.pid"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "lock"
