"""One line for a host that SSH did not reach (or log in to): its name, its address, ssh's
reason, and what to do when the cause is plain from the inventory (wmx init's placeholder
address, a key file that is not there). The same line from every command that goes over
SSH (logs, status, backup, the admin tunnel, upgrade); exit status 1, as a failure that is
not a usage error."""

from __future__ import annotations

from pathlib import Path

from wmx.errors import WmxError
from wmx.site.placeholder import is_placeholder, placeholder_advice
from wmx.site.topology import HostView

# ssh's own exit status when it fails (a remote command's status is passed on otherwise).
SSH_FAILED = 255
KEY_FILE_VARIABLES = ("ansible_ssh_private_key_file", "ansible_private_key_file")


def ssh_cause(stderr: str) -> str:
    """ssh's reason in one line: the last line that says something (ssh ends with the
    one that names the address and port), without its `ssh: ` prefix."""
    lines = [
        line.strip()
        for line in stderr.splitlines()
        if line.strip() and not line.startswith("Warning: Permanently added")
    ]
    return lines[-1].removeprefix("ssh: ")[:300] if lines else "ssh exited without a message"


def missing_key(host: HostView) -> tuple[str, str] | None:
    """(variable, path) of the host's SSH key file setting when that file is not on this
    machine (a relative path is taken from where wmx runs, as ssh and Ansible do)."""
    for name in KEY_FILE_VARIABLES:
        key = host.vars.get(name)
        if isinstance(key, str) and key and not Path(key).expanduser().exists():
            return name, key
    return None


def inventory_advice(host: HostView) -> str | None:
    """What to do when the cause is plain from the inventory: wmx init's placeholder
    address, or a key file that is not on this machine; None otherwise."""
    if is_placeholder(host.address):
        return placeholder_advice(host.name, host.address)
    key = missing_key(host)
    if key:
        name, path = key
        return f"its SSH key {path} ({name}) is not on this machine: fix the path in inventory.yml"
    return None


def unreachable_message(host: HostView, stderr: str, otherwise: str | None = None) -> str:
    """The line for `host` that ssh failed to reach with `stderr`, with the inventory's
    advice, else `otherwise` (a caller's own, from the cause)."""
    message = f"{host.name} ({host.address}) cannot be reached over SSH: {ssh_cause(stderr)}"
    advice = inventory_advice(host) or otherwise
    return f"{message}; {advice}" if advice else message


class Unreachable(WmxError):
    """SSH did not reach (or log in to) `host`: another command to it would fail alike."""

    def __init__(self, host: str, message: str) -> None:
        super().__init__(message)
        self.host = host


def unreachable(host: HostView, stderr: str) -> Unreachable:
    """The error for `host` when ssh failed with `stderr` (exit status 1)."""
    return Unreachable(host.name, unreachable_message(host, stderr))
