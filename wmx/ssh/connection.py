"""How wmx reaches a host over SSH: the connection Ansible would use, as an ssh argv.

The host's variables come from the inventory as Ansible resolves them (wmx.site.inventory
reads it through ansible-core: group_vars/, host_vars/, `all.vars`, templates), so
`wmx status`, `logs`, `backup` and the admin tunnel log in exactly as `wmx deploy` does:
ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file,
ansible_ssh_common_args and ansible_ssh_extra_args (and their older ansible_ssh_* names).

A host reached as a user other than root with `ansible_become: true` runs the commands
that need root through `sudo -n` (never asking: no terminal, no password on any command
line). When the site keeps a sudo password (secrets.yml: sudo_password), it travels on the
remote command's stdin to `sudo -S`, never in an argv (wmx.ssh.become); without one, a
sudo that wants a password fails with sudo's own message.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wmx.errors import WmxError
from wmx.site.topology import HostView
from wmx.ssh import become

CONNECT_TIMEOUT = 10  # seconds
# Ansible's names for each connection setting, the preferred one last (it wins).
_ADDRESS = ("ansible_ssh_host", "ansible_host")
_PORT = ("ansible_ssh_port", "ansible_port")
_USER = ("ansible_ssh_user", "ansible_user")
_KEY = ("ansible_private_key_file", "ansible_ssh_private_key_file")
_TRUE = {"true", "yes", "on", "1"}


class BecomeError(WmxError):
    """The inventory asks for a way to become root that wmx's own SSH cannot use."""


def _setting(values: Mapping[str, object], names: Sequence[str]) -> str | None:
    found = None
    for name in names:
        value = values.get(name)
        if value not in (None, ""):
            found = str(value)
    return found


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


@dataclass(frozen=True)
class Connection:
    """One host's SSH connection settings (from its Ansible variables)."""

    host: str  # inventory name, for messages
    address: str
    port: int | None = None
    user: str | None = None  # None: ssh's own default (the local user, ~/.ssh/config)
    private_key: str | None = None
    ssh_args: tuple[str, ...] = ()  # ansible_ssh_common_args, then ansible_ssh_extra_args
    become: bool = False
    become_user: str = "root"
    become_method: str = "sudo"

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.address}" if self.user else self.address

    @property
    def uses_sudo(self) -> bool:
        """Whether commands that need root go through sudo (a non-root user with become)."""
        return self.become and self.user != self.become_user

    def ssh_argv(self, *options: str) -> list[str]:
        """`ssh [our options] [options] destination`, without a remote command."""
        argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}"]
        argv += options
        if self.port:
            argv += ["-p", str(self.port)]
        if self.private_key:
            argv += ["-i", self.private_key]
        argv += self.ssh_args
        argv.append(self.destination)
        return argv

    def become_argv(self) -> list[str]:
        """The prefix that runs a command as root on the host ([] when logged in as root).

        `sudo -n`: sudo must not wait for a password nobody can type here (a password in
        use goes to `sudo -S` on stdin instead: `command`)."""
        if not self.uses_sudo:
            return []
        if self.become_method != "sudo":
            raise BecomeError(
                f"{self.host}: ansible_become_method {self.become_method!r}: wmx's own SSH "
                "commands (status, logs, backup) become root with sudo only"
            )
        return ["sudo", "-n", "-u", self.become_user, "--"]

    def command(self, argv: Sequence[str], *, as_root: bool = True) -> list[str]:
        """ssh argv that runs `argv` on the host: each word quoted once for the remote
        shell (ssh joins them into one line), as root when `as_root`.

        With a sudo password in use (wmx.ssh.become), it goes first on the command's
        stdin, from its 0600 file, never in an argv: the argv then runs ssh through
        wmx/ssh/feed.py, which sends the file and then this process's stdin."""
        sudo = self.become_argv() if as_root else []
        secret = become.password_file()
        if not sudo or secret is None:
            return [*self.ssh_argv(), "--", shlex.join([*sudo, *argv])]
        remote = ["sh", "-c", become.REMOTE_SCRIPT, "wmx-become", self.become_user, *argv]
        ssh = [*self.ssh_argv(), "--", shlex.join(remote)]
        return become.feed_argv(secret, ssh)


def connection(host: HostView) -> Connection:
    """The connection to `host`, from the variables Ansible resolved for it."""
    values = host.vars
    port = _setting(values, _PORT)
    if port is not None and not port.isdigit():
        raise WmxError(f"{host.name}: ansible_port {port!r} is not a port number")
    args = [
        *shlex.split(str(values.get("ansible_ssh_common_args") or "")),
        *shlex.split(str(values.get("ansible_ssh_extra_args") or "")),
    ]
    return Connection(
        host=host.name,
        address=_setting(values, _ADDRESS) or host.address,
        port=int(port) if port is not None else None,
        user=_setting(values, _USER),
        private_key=_setting(values, _KEY),
        ssh_args=tuple(args),
        become=_flag(values.get("ansible_become", False)),
        become_user=str(values.get("ansible_become_user") or "root"),
        become_method=str(values.get("ansible_become_method") or "sudo"),
    )


def run_as_root(host: HostView, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv` as root on `host` over SSH, stdin closed, and wait (two minutes at most)."""
    return subprocess.run(
        connection(host).command(argv),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
