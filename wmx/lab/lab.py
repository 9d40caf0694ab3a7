"""`Lab`: throwaway Debian 12 hosts on this machine, reachable over SSH like any VPS.

The CLI (`wmx lab`) and the end-to-end tests both drive the lab through this class.
Every operation is idempotent and starts from what the kernel reports (processes, mounts,
links), so it also repairs the leftovers of a run that was killed half-way.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import wmx
from wmx.lab import (
    acme,
    addressing,
    ca,
    commands,
    hostdisk,
    hostsfile,
    ircd,
    mounts,
    network,
    processes,
    rootfs,
    sshkeys,
)
from wmx.lab.addressing import ACME_NAME, GATEWAY, LabHost
from wmx.lab.daemons import Daemon
from wmx.lab.errors import NOT_ROOT_MESSAGE, LabError
from wmx.lab.paths import DEFAULT_CACHE_DIR, DEFAULT_STATE_DIR, LabPaths
from wmx.lab.state import HostRecord, LabState, load_state, save_state

log = logging.getLogger(__name__)

HostRef = str | LabHost

BOOT_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
DOWN_GRACE = 3.0
# Names the lab may map in /etc/hosts: only the reserved .test TLD (RFC 2606), so a typo
# can never shadow a real domain on the machine.
_TEST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+test")


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
        self, host: HostRef, command: Sequence[str] = (), *, tty: bool = False
    ) -> list[str]:
        """argv for running ``command`` (or a login shell) on ``host`` as root over ssh."""
        argv = ["ssh", *self.ssh_options(), *(["-t"] if tty else [])]
        argv.append(f"root@{self._host(host).address}")
        if command:
            argv += ["--", shlex.join(command)]
        return argv

    @staticmethod
    def require_root() -> None:
        if os.geteuid() != 0:
            raise LabError(NOT_ROOT_MESSAGE)

    # --- lifecycle --------------------------------------------------------------------

    def up(self, count: int = 1) -> list[LabHost]:
        """Make sure hosts lab1..lab<count> run; return them. Idempotent.

        Hosts that already run are kept as they are; higher-numbered hosts from an
        earlier `up` are left alone.
        """
        self.require_root()
        if not 1 <= count <= addressing.MAX_HOSTS:
            raise LabError(f"--hosts must be between 1 and {addressing.MAX_HOSTS}")
        missing = commands.missing_tools()
        if missing:
            raise LabError(
                "missing tools: " + ", ".join(missing) + " (install them with apt-get install)"
            )
        wanted = [addressing.host_name(i) for i in range(1, count + 1)]
        with self._locked():
            state = load_state(self.paths.state_file)
            source = rootfs.ensure_rootfs(self.paths, self._progress)
            self._progress("Preparing keys, CA and network")
            self._ensure_identity()
            macs_changed = self._ensure_network(state)
            # Saved now: a failure further on must not lose the ip_forward value to restore.
            save_state(self.paths.state_file, state)
            self._ensure_acme()
            self._ensure_irc()
            nameservers = network.upstream_nameservers()
            if not nameservers:
                raise LabError("no usable nameserver in /etc/resolv.conf for the lab hosts")
            public_key = self.ssh_key_path.with_suffix(".pub").read_text(encoding="utf-8")
            trust = self._trust_certificates()
            for name in wanted:
                macs_changed |= self._prepare_host(name, source, public_key, nameservers, trust)
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
                pid = self._ensure_host_started(name)
                if pid is not None:
                    started.append(name)
                state.hosts[name].supervisor_pid = pid or self._supervisor(name).pid()
            save_state(self.paths.state_file, state)
            if started:
                self._progress(f"Booting {', '.join(started)}")
            for name in wanted:
                self.wait_ssh(name)
        return [self._lab_host(name) for name in wanted]

    def down(self, purge: bool = False) -> None:
        """Stop and delete every host and everything the lab set up on the machine.

        Keeps the rootfs cache, the shared apt/pip caches, the SSH key and the CA unless
        ``purge``. Works from any leftover state, including a killed run's.
        """
        self.require_root()
        with self._locked():
            state = load_state(self.paths.state_file)
            names = self._all_host_names(state)
            if names:
                self._progress(f"Stopping {', '.join(names)}")
            self._stop_hosts(names)
            acme.stop(self.paths)
            ircd.stop(ircd.lab_config(self.paths))
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
                ):
                    mounts.remove_tree(tree)
        if purge:
            mounts.remove_tree(self.paths.state_dir)

    def remove(self, host: HostRef) -> None:
        """Stop and delete one host (its disk, namespace and names); the rest keeps running.

        The next `up` that includes it creates it afresh: a clean host, e.g. to restore a
        backup onto.
        """
        self.require_root()
        name = self._host(host).name
        with self._locked():
            state = load_state(self.paths.state_file)
            self._stop_hosts([name])
            network.remove_host_link(name)
            for leftover in (
                self.paths.host_root(name),
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
            name = raw_name.strip().lower().rstrip(".")
            if not _TEST_NAME.fullmatch(name):
                raise LabError(f"{raw_name!r} is not a name under .test; the lab maps only those")
            if name == ACME_NAME or name.endswith(f".{addressing.LAB_DOMAIN}"):
                raise LabError(f"{raw_name!r} is reserved for the lab's own hosts")
            resolved[name] = None if host is None else self._host(host).name
        with self._locked():
            state = load_state(self.paths.state_file)
            before = set(state.names)
            merged = resolved if replace else {**state.names, **resolved}
            state.names = {name: host for name, host in merged.items() if host is not None}
            save_state(self.paths.state_file, state)
            self._publish_names(state, removed=sorted(before - set(state.names)))

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
        """Run ``argv`` as root inside ``host`` and capture its output.

        Enters the container's namespaces with nsenter rather than using ssh, so it works
        while sshd is down or not yet started. The environment is a clean one.
        """
        self.require_root()
        name = self._host(host).name
        leader = processes.container_leader(self.paths.host_root(name))
        if leader is None:
            raise LabError(f"{name} is not running")
        full = [
            "nsenter", f"--target={leader}",
            "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--root", "--wd",
            "--", *argv,
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                full,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=commands.clean_env(),
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise LabError(f"{shlex.join(argv)} on {name} took longer than {timeout} s") from error
        result = subprocess.CompletedProcess(list(argv), proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise LabError(
                f"{shlex.join(argv)} on {name} failed with exit status {proc.returncode}"
                + (f": {detail[-1]}" if detail else "")
            )
        return result

    def wait_ssh(self, host: HostRef, timeout: float = BOOT_TIMEOUT) -> None:
        """Wait until root can log in to ``host`` over ssh with the lab key."""
        lab_host = self._host(host)
        root = self.paths.host_root(lab_host.name)
        deadline = time.monotonic() + timeout
        down_since: float | None = None
        while time.monotonic() < deadline:
            supervised = self._supervisor(lab_host.name).running()
            running = supervised or processes.container_leader(root) is not None
            now = time.monotonic()
            down_since = None if running else (down_since or now)
            # A supervisor forked a moment ago does not look like one yet, so only a host
            # that stays down for a few seconds is given up on, with the reason from its log
            # rather than a bare timeout much later.
            if down_since is not None and now - down_since > DOWN_GRACE:
                tail = _last_line(self.paths.host_log(lab_host.name))
                raise LabError(
                    f"{lab_host.name} is not running (log: {self.paths.host_log(lab_host.name)})"
                    + (f": {tail}" if tail else "")
                )
            if _port_open(lab_host.address, 22):
                probe = subprocess.run(
                    self.ssh_argv(lab_host, ["true"]),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=30,
                    env=commands.clean_env(),
                    check=False,
                )
                if probe.returncode == 0:
                    return
            time.sleep(0.3)
        raise LabError(
            f"{lab_host.name} did not accept ssh within {timeout:.0f} s "
            f"(console log: {self.paths.host_log(lab_host.name)})"
        )

    def reboot(self, host: HostRef, timeout: float = BOOT_TIMEOUT) -> None:
        """`systemctl reboot` inside ``host``; return when it accepts ssh again."""
        name = self._host(host).name
        root = self.paths.host_root(name)
        before = processes.container_leader(root)
        if before is None:
            raise LabError(f"{name} is not running")
        # The command's own connection dies with the host, so its status means nothing.
        with contextlib.suppress(LabError):
            self.run(name, ["systemctl", "reboot"], check=False, timeout=30)
        deadline = time.monotonic() + timeout
        while True:
            leader = processes.container_leader(root)
            if leader is not None and leader != before:
                break
            if time.monotonic() > deadline:
                raise LabError(f"{name} did not come back after reboot")
            if not self._supervisor(name).running():
                raise LabError(
                    f"{name}'s supervisor exited during reboot (log: {self.paths.host_log(name)})"
                )
            time.sleep(0.2)
        self.wait_ssh(name, max(5.0, deadline - time.monotonic()))

    # --- steps of up ----------------------------------------------------------------

    def _ensure_identity(self) -> None:
        sshkeys.ensure_client_key(self.paths.ssh_key)
        ca.ensure_ca(self.paths.ca_key, self.paths.ca_cert)
        ca.ensure_server_cert(
            self.paths.ca_key,
            self.paths.ca_cert,
            self.paths.pebble_tls_key,
            self.paths.pebble_tls_cert,
            dns_names=[ACME_NAME, "localhost"],
            ip_addresses=[str(GATEWAY), "127.0.0.1"],
        )

    def _ensure_network(self, state: LabState) -> bool:
        """Bridge, NAT and forwarding; True if the bridge's MAC changed."""
        changed = network.ensure_bridge()
        network.ensure_nat()
        before = network.enable_ip_forward()
        if state.ip_forward_before is None:
            state.ip_forward_before = before
        return changed

    def _ensure_irc(self) -> None:
        # Only the IRC bridge's tests need it: a lab without it still deploys everything.
        if not ircd.available():
            self._progress("ngircd is not installed: the lab has no IRC server")
            return
        try:
            ircd.ensure_running(ircd.lab_config(self.paths), self.paths.ca_key, self.paths.ca_cert)
        except LabError as error:
            log.warning("the lab's IRC server did not start: %s", error)

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

    def _trust_certificates(self) -> dict[str, str]:
        """What every host must trust: the machine's extra CAs, the lab CA, pebble's root."""
        trust: dict[str, str] = {}
        machine_cas = Path("/usr/local/share/ca-certificates")
        if machine_cas.is_dir():
            for crt in sorted(machine_cas.rglob("*.crt")):
                if crt.is_file():
                    trust[f"machine-{crt.stem}.crt"] = crt.read_text(encoding="ascii")
        trust["wmx-lab-ca.crt"] = self.paths.ca_cert.read_text(encoding="ascii")
        pebble_roots = acme.split_pem(self.paths.pebble_roots.read_text(encoding="ascii"))
        for i, pem in enumerate(pebble_roots):
            trust[f"pebble-root-{i}.crt"] = pem
        return trust

    def _prepare_host(
        self,
        name: str,
        source: Path,
        public_key: str,
        nameservers: list[str],
        trust: Mapping[str, str],
    ) -> bool:
        """Network, disk and boot spec of one host; True if its MAC address changed."""
        mac_changed = network.ensure_host_link(name)
        root = self.paths.host_root(name)
        if hostdisk.create_host_root(self.paths, name, source, public_key):
            self._progress(f"Created {name} ({self._address(name)})")
        hostdisk.write_resolv_conf(root, nameservers)
        hostdisk.seed_apt_cache(self.paths, name)
        self.paths.pip_cache.mkdir(parents=True, exist_ok=True)
        hostdisk.sync_trust(root, trust)
        spec = {"argv": self._nspawn_argv(name)}
        self.paths.host_boot_spec(name).write_text(json.dumps(spec, indent=2) + "\n")
        return mac_changed

    def _nspawn_argv(self, name: str) -> list[str]:
        return [
            "systemd-nspawn",
            "--boot",
            f"--directory={self.paths.host_root(name)}",
            f"--machine={name}",
            # The machine's PID 1 is not systemd: there is no machined to register with and
            # no unit to move into.
            "--register=no",
            "--keep-unit",
            f"--network-namespace-path={network.NETNS_DIR / addressing.netns_name(name)}",
            # Boot messages go to the host's log, for when it does not come up.
            "--console=read-only",
            "--resolv-conf=off",
            "--timezone=off",
            "--link-journal=no",
            # Only in the host's own network namespace: lets deploys manage its firewall.
            "--capability=CAP_NET_ADMIN",
            f"--bind={self.paths.apt_archives_for(name)}:/var/cache/apt/archives",
            f"--bind={self.paths.pip_cache}:/root/.cache/pip",
        ]

    def _supervisor(self, name: str) -> Daemon:
        state_dir = str(self.paths.state_dir)
        package_parent = str(Path(wmx.__file__).resolve().parent.parent)
        return Daemon(
            argv=[sys.executable, "-m", "wmx.lab.supervisor", name, "--state-dir", state_dir],
            pidfile=self.paths.supervisor_pidfile(name),
            logfile=self.paths.host_log(name),
            markers=("wmx.lab.supervisor", name, state_dir),
            # The supervisor must import this same wmx, installed or not.
            env=commands.clean_env({"PYTHONPATH": package_parent}),
            cwd=self.paths.state_dir,
        )

    def _ensure_host_started(self, name: str) -> int | None:
        """Start ``name`` under a supervisor unless it runs; the new supervisor's pid."""
        supervisor = self._supervisor(name)
        if supervisor.running():
            return None
        # A container without its supervisor (the supervisor was killed) would not come back
        # from a reboot: stop it and start again properly.
        self._stop_hosts([name])
        return supervisor.start().pid

    def _stop_hosts(self, names: Sequence[str], timeout: float = STOP_TIMEOUT) -> None:
        """Power hosts off cleanly, all at once; kill what is left after ``timeout``."""
        roots = {name: self.paths.host_root(name) for name in names}
        for name, root in roots.items():
            supervisor = self._supervisor(name)
            supervisor_pid = supervisor.pid()
            if supervisor_pid is not None:
                # The supervisor passes SIGTERM to nspawn: a clean poweroff, no restart.
                processes.signal_pids([supervisor_pid], signal.SIGTERM)
            else:
                leader = processes.container_leader(root)
                if leader is not None:
                    # What `systemctl poweroff` does: SIGRTMIN+3 to the container's systemd.
                    processes.signal_pids([leader], signal.SIGRTMIN + 3)
        deadline = time.monotonic() + timeout
        for name, root in roots.items():
            leftovers = self._host_pids(name, root)
            leftovers = processes.wait_gone(leftovers, max(0.0, deadline - time.monotonic()))
            if leftovers:
                log.warning("%s did not power off in time; killing it", name)
                # Killing a pid namespace's init kills everything in it.
                processes.stop_pids(leftovers, timeout=5, signum=signal.SIGKILL)
            self._supervisor(name).stop(timeout=5)

    def _host_pids(self, name: str, root: Path) -> list[int]:
        """Every machine process belonging to host ``name``: container, nspawn, supervisor."""
        directory_arg = f"--directory={root}"
        pids = set(processes.processes_rooted_at(root))
        pids |= set(
            processes.find_pids(
                lambda argv: os.path.basename(argv[0]) == "systemd-nspawn" and directory_arg in argv
            )
        )
        pids |= set(self._supervisor(name).find_all())
        return sorted(pids)

    # --- names ------------------------------------------------------------------------

    def _publish_names(self, state: LabState, removed: Sequence[str] = ()) -> None:
        """Write the name blocks (machine and hosts) and the ACME DNS records."""
        hosts = sorted(set(state.hosts) | self._host_dirs(), key=addressing.host_index)
        records: dict[str, str] = {ACME_NAME: str(GATEWAY), ircd.IRC_NAME: str(GATEWAY)}
        with_short: dict[str, list[str]] = {str(GATEWAY): [ACME_NAME, ircd.IRC_NAME]}
        fqdn_only: dict[str, list[str]] = {str(GATEWAY): [ACME_NAME, ircd.IRC_NAME]}
        for name in hosts:
            address = self._address(name)
            fqdn = addressing.host_fqdn(name)
            records[fqdn] = address
            with_short[address] = [fqdn, name]
            fqdn_only[address] = [fqdn]
        for extra, name in sorted(state.names.items()):
            address = self._address(name)
            records[extra] = address
            with_short.setdefault(address, []).append(extra)
            fqdn_only.setdefault(address, []).append(extra)
        hostsfile.update_hosts_file(self.machine_hosts_file, hostsfile.render_block(fqdn_only))
        host_block = hostsfile.render_block(with_short)
        for name in hosts:
            root = self.paths.host_root(name)
            if root.is_dir():
                hostdisk.write_hosts_block(root, host_block)
        if acme.challtestsrv_daemon(self.paths).running():
            acme.set_dns_records(records, removed=list(removed))

    def _write_known_hosts(self) -> None:
        lines: list[str] = []
        for name in sorted(self._host_dirs(), key=addressing.host_index):
            names = [name, addressing.host_fqdn(name), self._address(name)]
            lines += sshkeys.known_hosts_lines(self.paths.host_root(name), names)
        self.paths.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        self.paths.known_hosts.write_text("".join(f"{line}\n" for line in lines))

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


def _last_line(path: Path) -> str:
    """The last line nspawn or systemd printed that is not the supervisor's own chatter."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    useful = [ln.strip() for ln in lines if ln.strip() and "wmx-lab-supervisor" not in ln]
    return useful[-1] if useful else ""


def _port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False
