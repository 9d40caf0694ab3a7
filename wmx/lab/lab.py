"""`Lab`: throwaway Debian 13 or 12 hosts on this machine, reachable over SSH like any VPS.

The CLI (`wmx lab`) and the end-to-end tests both drive the lab through this class.
Every operation is idempotent and starts from what the kernel reports (processes, mounts,
links), so it also repairs the leftovers of a run that was killed half-way.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from wmx.lab import (
    acme,
    addressing,
    ca,
    commands,
    containers,
    hostdisk,
    hostrelease,
    hostsfile,
    ircd,
    meta,
    mounts,
    naming,
    network,
    processes,
    services,
    snapshots,
    sudouser,
    wheelhouse,
)
from wmx.lab.addressing import LabHost
from wmx.lab.containers import BOOT_TIMEOUT
from wmx.lab.errors import LabError, not_root_message
from wmx.lab.paths import DEFAULT_CACHE_DIR, DEFAULT_STATE_DIR, LabPaths
from wmx.lab.snapshots import Snapshot
from wmx.lab.state import HostRecord, LabState, load_state, save_state

log = logging.getLogger(__name__)

HostRef = str | LabHost


class Lab:
    """The lab on this machine. One per machine: network names are global.

    ``state_dir`` holds keys, CA, host disks and state; ``cache_dir`` the rootfs and the
    apt/pip caches. ``progress`` receives one-line messages about slow steps.
    """

    def __init__(
        self,
        state_dir: Path = DEFAULT_STATE_DIR,
        cache_dir: Path = DEFAULT_CACHE_DIR,
        *,
        progress: Callable[[str], None] | None = None,
        machine_hosts_file: Path = Path("/etc/hosts"),
    ) -> None:
        self.paths = LabPaths(state_dir=Path(state_dir), cache_dir=Path(cache_dir))
        self._progress = progress or (lambda message: log.info("%s", message))
        self.machine_hosts_file = machine_hosts_file

    # --- what callers connect with ---------------------------------------------------

    @property
    def ssh_key_path(self) -> Path:
        """Private key that logs in as root on every host."""
        return self.paths.ssh_key

    @property
    def known_hosts_path(self) -> Path:
        """known_hosts with every host's keys, under its name, FQDN and address."""
        return self.paths.known_hosts

    @property
    def trust_bundle_path(self) -> Path:
        """PEM bundle (lab CA + pebble's current root) for clients' ``verify=``."""
        return self.paths.trust_bundle

    @property
    def acme_directory(self) -> str:
        return acme.ACME_DIRECTORY

    def ssh_options(self) -> list[str]:
        """ssh options for connecting to lab hosts (also fit for Ansible's ssh args)."""
        return [
            "-i", str(self.ssh_key_path),
            "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts_path}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5",
            "-o", "LogLevel=ERROR",
        ]  # fmt: skip

    def ssh_argv(
        self, host: HostRef, command: Sequence[str] = (), *, tty: bool = False, root: bool = True
    ) -> list[str]:
        """argv for running ``command`` (or a login shell) on ``host`` as root over ssh
        (as its sudo user, through `sudo -n` if ``root``, when root may not log in)."""
        lab_host = self._host(host)
        disk = self.paths.host_root(lab_host.name)
        target = sudouser.ssh_destination(disk, lab_host.address, list(command), as_root=root)
        return ["ssh", *self.ssh_options(), *(["-t"] if tty else []), *target]

    def sudo_only(self, host: HostRef, user: str, password: str | None = None) -> None:
        """Make ``host`` a VPS that root cannot log in to over SSH and ``user`` can, with
        sudo (asking ``password`` when one is given); see wmx/lab/sudouser.py."""
        self.require_root()
        sudouser.make_sudo_only(self.paths, self._host(host).name, user, password)

    @staticmethod
    def require_root() -> None:
        if os.geteuid() != 0:
            raise LabError(not_root_message(sys.argv))

    # --- lifecycle --------------------------------------------------------------------

    def up(self, count: int = 1, releases: Sequence[str] = ()) -> list[LabHost]:
        """Make sure hosts lab1..lab<count> run; return them. Idempotent.

        Hosts that already run are kept as they are; higher-numbered hosts from an
        earlier `up` are left alone. ``releases``: `--release` values (hostrelease.py).
        """
        self.require_root()
        if not 1 <= count <= addressing.MAX_HOSTS:
            raise LabError(f"--hosts must be between 1 and {addressing.MAX_HOSTS}")
        return self._up([addressing.host_name(i) for i in range(1, count + 1)], releases)

    def _up(self, wanted: list[str], releases: Sequence[str] = ()) -> list[LabHost]:
        missing = commands.missing_tools()
        if missing:
            raise LabError(
                "missing tools: " + ", ".join(missing) + " (install them with apt-get install)"
            )
        with self._locked():
            state = load_state(self.paths.state_file)
            src = hostrelease.sources(self.paths, wanted, releases, self._progress)
            self._progress("Preparing keys, CA and network")
            ca.ensure_lab_identity(self.paths)
            macs_changed = self._ensure_network(state)
            # Saved now: a failure further on must not lose the ip_forward value to restore.
            save_state(self.paths.state_file, state)
            self._ensure_acme()
            services.ensure_running(self.paths, self._progress)
            nameservers = network.upstream_nameservers()
            if not nameservers:
                raise LabError("no usable nameserver in /etc/resolv.conf for the lab hosts")
            public_key = self.ssh_key_path.with_suffix(".pub").read_text(encoding="utf-8")
            trust = hostdisk.trust_certificates(self.paths)
            for name in wanted:
                macs_changed |= self._prepare_host(name, src[name], public_key, nameservers, trust)
                state.hosts.setdefault(name, HostRecord(address=self._address(name)))
            if macs_changed:
                network.flush_neighbours()
            for name in sorted(self._host_dirs() - set(wanted)):
                # Hosts outside this `up` still need pebble's root if pebble restarted.
                hostdisk.sync_trust(self.paths.host_root(name), trust)
            save_state(self.paths.state_file, state)
            self._publish_names(state)
            self._write_known_hosts()
            started = []
            for name in wanted:
                pid = containers.ensure_started(self.paths, name)
                if pid is not None:
                    started.append(name)
                state.hosts[name].supervisor_pid = (
                    pid or containers.supervisor(self.paths, name).pid()
                )
            save_state(self.paths.state_file, state)
            if started:
                self._progress(f"Booting {', '.join(started)}")
            for name in wanted:
                self.wait_ssh(name)
        return [self._lab_host(name) for name in wanted]

    def down(self, purge: bool = False) -> None:
        """Stop and delete every host and everything the lab set up on the machine. Keeps
        the rootfs cache, apt/pip caches, wheels, snapshots, the SSH key and the CA unless
        ``purge``. Works from any leftover state, including a killed run's."""
        self.require_root()
        with self._locked():
            state = load_state(self.paths.state_file)
            names = self._all_host_names(state)
            if names:
                self._progress(f"Stopping {', '.join(names)}")
            containers.stop_hosts(self.paths, names)
            # Host disks (state) and replaced snapshots (cache) being deleted meanwhile.
            mounts.wait_for_background_removals(self.paths.state_dir, self.paths.snapshots_dir)
            acme.stop(self.paths)
            services.stop(self.paths)
            network.remove_all()
            if state.ip_forward_before is not None:
                network.restore_ip_forward(state.ip_forward_before)
            hostsfile.update_hosts_file(self.machine_hosts_file, None)
            self._progress("Deleting host disks")
            if self.paths.hosts_dir.exists():
                for entry in sorted(self.paths.hosts_dir.iterdir()):
                    mounts.remove_tree(entry)
                mounts.remove_tree(self.paths.hosts_dir)
            mounts.remove_tree(self.paths.acme_dir)
            self.paths.known_hosts.unlink(missing_ok=True)
            self.paths.state_file.unlink(missing_ok=True)
            for leftover in self.paths.trust_bundle, self.paths.pebble_roots:
                leftover.unlink(missing_ok=True)
            self.paths.pebble_intermediates.unlink(missing_ok=True)
            if purge:
                self._progress("Purging keys, CA and caches")
                for tree in (
                    self.paths.ssh_dir,
                    self.paths.ca_dir,
                    self.paths.rootfs_cache_dir,
                    self.paths.apt_archives,
                    self.paths.pip_cache,
                    self.paths.wheelhouse,
                    self.paths.snapshots_dir,
                ):
                    mounts.remove_tree(tree)
        if purge:
            mounts.remove_tree(self.paths.state_dir)

    def remove(self, host: HostRef) -> None:
        """Stop and delete one host (its disk, namespace and names); the rest keeps running.
        The next `up` that includes it creates it afresh (a clean host to restore onto)."""
        self.require_root()
        name = self._host(host).name
        with self._locked():
            self._remove_locked(name)

    def _remove_locked(self, name: str) -> None:
        state = load_state(self.paths.state_file)
        containers.stop_hosts(self.paths, [name])
        network.remove_host_link(name)
        mounts.remove_tree(self.paths.host_root(name), background=True)  # gigabytes
        for leftover in (
            self.paths.host_log(name),
            self.paths.host_boot_spec(name),
            self.paths.supervisor_pidfile(name),
            # nspawn's lock file for the directory it booted.
            self.paths.hosts_dir / f".#{name}.lck",
        ):
            mounts.remove_tree(leftover)
        dropped = sorted(extra for extra, target in state.names.items() if target == name)
        state.hosts.pop(name, None)
        state.names = {e: t for e, t in state.names.items() if t != name}
        save_state(self.paths.state_file, state)
        self._publish_names(state, removed=dropped)
        self._write_known_hosts()

    def hosts(self) -> list[LabHost]:
        """Every host the lab knows (from state and from disk), running or not."""
        state = load_state(self.paths.state_file)
        names = sorted(set(state.hosts) | self._host_dirs(), key=addressing.host_index)
        return [self._lab_host(name) for name in names]

    def host(self, name: str) -> LabHost:
        return self._lab_host(self._host(name).name)

    def names(self) -> dict[str, str]:
        """The extra .test names and the host each maps to."""
        return dict(load_state(self.paths.state_file).names)

    def set_names(self, mapping: Mapping[str, HostRef | None], *, replace: bool = False) -> None:
        """Map extra names (``{"example.test": "lab1"}``) to lab hosts.

        They resolve on the machine and on every host (managed /etc/hosts blocks), and in
        the DNS pebble validates against. Adds to the existing names unless ``replace``;
        a name mapped to None is removed.
        """
        self.require_root()
        resolved: dict[str, str | None] = {}
        for raw_name, host in mapping.items():
            name = naming.check_extra_name(raw_name)
            resolved[name] = None if host is None else self._host(host).name
        with self._locked():
            state = load_state(self.paths.state_file)
            before = set(state.names)
            merged = resolved if replace else {**state.names, **resolved}
            state.names = {name: host for name, host in merged.items() if host is not None}
            save_state(self.paths.state_file, state)
            self._publish_names(state, removed=sorted(before - set(state.names)))

    # --- snapshots ----------------------------------------------------------------------

    def snapshot(
        self, name: str, hosts: Sequence[HostRef], meta: Mapping[str, Any] | None = None
    ) -> Snapshot:
        """Copy ``hosts``' disks into snapshot ``name`` (replacing one of that name).

        Running hosts are frozen while they are copied and go on afterwards; ``meta`` is
        stored with the snapshot for the caller (e.g. what was deployed on them).
        """
        self.require_root()
        names = [self._host(host).name for host in hosts]
        snapshots.check_name(name)
        if not names:
            raise LabError("a snapshot needs at least one host")
        with self._locked(), contextlib.ExitStack() as frozen:
            roots = {}
            for host in names:
                root = self.paths.host_root(host)
                if not root.is_dir():
                    raise LabError(f"{host} does not exist; start it with `wmx lab up`")
                roots[host] = root
                # The container's own processes; nspawn and the supervisor run on.
                rooted = functools.partial(processes.processes_rooted_at, root)
                frozen.enter_context(processes.frozen(rooted))
            self._progress(f"Copying {', '.join(names)} into snapshot {name}")
            trust = acme.current_roots(self.paths)
            served = {
                n: t for n, t in load_state(self.paths.state_file).names.items() if t in roots
            }
            return snapshots.take(self.paths, name, roots, dict(meta or {}), trust, served)

    def harvest_wheels(self, host: HostRef) -> int:
        """Add the wheels of ``host``'s virtual environments to the shared wheelhouse."""
        name = self._host(host).name
        return wheelhouse.harvest(lambda argv: self.run(name, argv, timeout=1800))

    def snapshots(self) -> list[Snapshot]:
        return snapshots.list_snapshots(self.paths)

    def find_snapshot(self, name: str) -> Snapshot | None:
        return snapshots.load(self.paths, name)

    def delete_snapshot(self, name: str) -> bool:
        self.require_root()
        return snapshots.delete(self.paths, name)

    def up_from_snapshot(self, name: str) -> list[LabHost]:
        """Replace the snapshot's hosts by fresh copies of it and boot them.

        Other hosts keep running. The hosts come back under the names they had, with what
        their disks held when the snapshot was taken.
        """
        self.require_root()
        snapshot = snapshots.load(self.paths, name)
        if snapshot is None:
            raise LabError(f"no snapshot {name!r} (list them with `wmx lab snapshots`)")
        with self._locked():
            # Powered off all at once first: each poweroff takes seconds (services stop).
            containers.stop_hosts(self.paths, list(snapshot.hosts))
            for host in snapshot.hosts:
                self._remove_locked(host)
                self.paths.hosts_dir.mkdir(parents=True, exist_ok=True)
                self._progress(f"Copying {host} from snapshot {name}")
                snapshots.copy_host(snapshot, host, self.paths.host_root(host))
            # Certificates on its disks chain to the pebble roots of their day.
            ca.ensure_lab_identity(self.paths)
            acme.keep_roots(self.paths, list(snapshot.trust))
        hosts = self._up(list(snapshot.hosts))
        # The names the hosts served when the snapshot was taken (certificates name them).
        self.set_names(snapshot.names)
        return hosts

    # --- inside hosts -------------------------------------------------------------------

    def run(
        self,
        host: HostRef,
        argv: Sequence[str],
        check: bool = True,
        *,
        input: str | None = None,
        timeout: float | None = 600,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` as root inside ``host`` and capture its output. Enters the
        container's namespaces with nsenter rather than ssh, so it works while sshd is down
        or not yet started (or root may not log in). The environment is a clean one."""
        self.require_root()
        return containers.run_in(self.paths, self._host(host).name, argv, check, input, timeout)

    def wait_ssh(self, host: HostRef, timeout: float = BOOT_TIMEOUT) -> None:
        """Wait until root (or the sudo user) can log in to ``host`` with the lab key."""
        probe = self.ssh_argv(host, ["true"], root=False)  # a sudo password is not needed
        containers.wait_ssh(self.paths, self._host(host), probe, timeout)

    def reboot(self, host: HostRef, timeout: float = BOOT_TIMEOUT) -> None:
        """`systemctl reboot` inside ``host``; return when it accepts ssh again."""
        name = self._host(host).name
        self.wait_ssh(name, containers.reboot(self.paths, name, timeout))

    # --- steps of up ----------------------------------------------------------------

    def _ensure_network(self, state: LabState) -> bool:
        """Bridge, NAT and forwarding; True if the bridge's MAC changed."""
        changed = network.ensure_bridge()
        network.ensure_nat()
        before = network.enable_ip_forward()
        if state.ip_forward_before is None:
            state.ip_forward_before = before
        return changed

    @property
    def meta(self) -> meta.MetaServerConfig:
        """The lab's Meta-Wiki stand-in (meta.lab.test): its URL, consumer, accounts."""
        return meta.lab_config(self.paths)

    @property
    def irc_server(self) -> ircd.IrcServerConfig:
        """The lab's IRC network (ngircd on the machine, irc.lab.test), if ngircd is installed."""
        return ircd.lab_config(self.paths)

    def restart_irc(self) -> None:
        """Restart the lab's IRC server: every IRC client is disconnected."""
        self.require_root()
        with self._locked():
            ircd.restart(ircd.lab_config(self.paths), self.paths.ca_key, self.paths.ca_cert)

    def _ensure_acme(self) -> None:
        restarted = acme.ensure_running(self.paths)
        if restarted or not self.paths.trust_bundle.exists():
            acme.refresh_trust_bundle(self.paths)

    def _prepare_host(
        self,
        name: str,
        source: Path | None,
        public_key: str,
        nameservers: list[str],
        trust: Mapping[str, str],
    ) -> bool:
        """Network, disk and boot spec of one host; True if its MAC address changed."""
        mac_changed = network.ensure_host_link(name)
        if source is not None and hostdisk.create_host_root(self.paths, name, source, public_key):
            self._progress(f"Created {name} ({self._address(name)})")
        hostdisk.prepare(self.paths, name, nameservers, trust)
        spec = {"argv": containers.nspawn_argv(self.paths, name)}
        self.paths.host_boot_spec(name).write_text(json.dumps(spec, indent=2) + "\n")
        return mac_changed

    # --- names ------------------------------------------------------------------------

    def _publish_names(self, state: LabState, removed: Sequence[str] = ()) -> None:
        """Write the name blocks (machine and hosts) and the ACME DNS records."""
        hosts = sorted(set(state.hosts) | self._host_dirs(), key=addressing.host_index)
        naming.publish(self.paths, self.machine_hosts_file, hosts, state.names, removed)

    def _write_known_hosts(self) -> None:
        naming.write_known_hosts(self.paths, sorted(self._host_dirs(), key=addressing.host_index))

    # --- helpers ------------------------------------------------------------------------

    def _host(self, host: HostRef) -> LabHost:
        name = host.name if isinstance(host, LabHost) else host
        try:
            index = addressing.host_index(name)
        except ValueError as error:
            raise LabError(str(error)) from None
        return LabHost.from_index(index, running=False)

    def _lab_host(self, name: str) -> LabHost:
        running = processes.container_leader(self.paths.host_root(name)) is not None
        return LabHost(name=name, address=self._address(name), running=running)

    @staticmethod
    def _address(name: str) -> str:
        return str(addressing.host_address(addressing.host_index(name)))

    def _host_dirs(self) -> set[str]:
        if not self.paths.hosts_dir.is_dir():
            return set()
        return {
            entry.name
            for entry in self.paths.hosts_dir.iterdir()
            if entry.is_dir() and addressing.is_host_name(entry.name)
        }

    def _all_host_names(self, state: LabState) -> list[str]:
        """Hosts from every source a killed run may have left traces in."""
        names = set(state.hosts) | self._host_dirs()
        prefix = addressing.NETNS_PREFIX
        names |= {netns[len(prefix) :] for netns in network.lab_netns_names()}
        if self.paths.hosts_dir.is_dir():
            for pidfile in self.paths.hosts_dir.glob("lab*.pid"):
                if addressing.is_host_name(pidfile.stem):
                    names.add(pidfile.stem)
        return sorted(names, key=addressing.host_index)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise lab changes between concurrent wmx processes (tests run in parallel)."""
        self.paths.state_dir.mkdir(parents=True, exist_ok=True)
        with self.paths.lock_file.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
