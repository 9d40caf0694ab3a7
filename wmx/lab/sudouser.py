"""A lab host that stands in for a typical VPS: root cannot log in over SSH, a user with
sudo can (what Debian's cloud images and Wikimedia's cloud give).

`make_sudo_only` creates the user (the lab key in its authorized_keys, a sudoers rule),
turns root's SSH login off (an sshd_config.d drop-in) and records the user in the host's
own /etc/wmx-lab/login-user, so the lab's ssh (`wmx lab shell`, waiting for a boot) logs
in as that user too, and a snapshot of the host keeps it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from wmx.errors import InputError
from wmx.lab import containers
from wmx.lab.paths import LabPaths

LOGIN_FILE = Path("etc/wmx-lab/login-user")
SSHD_DROP_IN = "/etc/ssh/sshd_config.d/wmx-lab-no-root-login.conf"
USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,30}")

_SCRIPT = """
set -eu
user={user}
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --groups sudo "$user"
home=$(getent passwd "$user" | cut -d: -f6)
install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
install -m 0600 -o "$user" -g "$user" /root/.ssh/authorized_keys "$home/.ssh/authorized_keys"
rule=/etc/sudoers.d/wmx-lab-$user
printf '%s ALL=(ALL:ALL) {tag}ALL\\n' "$user" > "$rule.new"
chmod 0440 "$rule.new"
visudo -cqf "$rule.new"
mv "$rule.new" "$rule"
printf 'PermitRootLogin no\\n' > {drop_in}
install -d -m 0755 /etc/wmx-lab
printf '%s\\n' "$user" > /etc/wmx-lab/login-user
sshd -t
systemctl reload ssh.service
"""


def login_user(host_root: Path) -> str | None:
    """The user the lab logs in as on this host (None: root)."""
    try:
        name = (host_root / LOGIN_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if USER_NAME.fullmatch(name) else None


def ssh_destination(
    host_root: Path, address: str, command: list[str], *, as_root: bool = True
) -> list[str]:
    """`user@address` and the remote command (through `sudo -n` when not root and
    ``as_root``)."""
    user = login_user(host_root)
    become = ["sudo", "-n", "--"] if user and command and as_root else []
    return [
        f"{user or 'root'}@{address}",
        *(["--", shlex.join(become + command)] if command else []),
    ]


def check_sudo_user(user: str) -> str:
    """`wmx lab up --sudo-user`: a lowercase login name other than root (checked before
    any host starts)."""
    if not USER_NAME.fullmatch(user) or user == "root":
        raise InputError(f"--sudo-user {user!r}: a lowercase login name other than root")
    return user


def make_sudo_only(paths: LabPaths, name: str, user: str, password: str | None = None) -> None:
    """Give host ``name`` a sudo user ``user`` and forbid root's SSH login.

    Without ``password`` sudo asks for none (NOPASSWD, as on most cloud images); with one,
    the user's password is set (through chpasswd's stdin) and sudo asks for it.
    """
    check_sudo_user(user)
    script = _SCRIPT.format(
        user=shlex.quote(user),
        tag="" if password else "NOPASSWD: ",
        drop_in=shlex.quote(SSHD_DROP_IN),
    )
    containers.run_in(paths, name, ["sh", "-c", script], True, None, 120)
    if password is not None:
        containers.run_in(paths, name, ["chpasswd"], True, f"{user}:{password}\n", 60)
