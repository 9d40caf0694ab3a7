"""SSH identities: the lab's client key, and fresh host keys for each host.

Each host gets its own host keys at creation (never the ones baked into the rootfs cache,
which every host would share), and the lab writes a known_hosts file listing them, so
that clients on the machine can connect with strict host key checking.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from wmx.lab import commands

HOST_KEY_TYPES = ("ed25519", "ecdsa", "rsa")


def ensure_client_key(key: Path) -> None:
    """Generate the lab's ed25519 keypair once; later runs reuse it."""
    if key.exists() and key.with_suffix(".pub").exists():
        return
    key.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(key.parent, 0o700)
    key.unlink(missing_ok=True)
    key.with_suffix(".pub").unlink(missing_ok=True)
    commands.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wmx-lab", "-f", str(key)])
    os.chmod(key, 0o600)


def generate_host_keys(host_root: Path, host: str) -> None:
    """Replace the host keys under ``host_root``/etc/ssh with new ones."""
    ssh_dir = host_root / "etc" / "ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    for old in ssh_dir.glob("ssh_host_*"):
        old.unlink()
    for key_type in HOST_KEY_TYPES:
        path = ssh_dir / f"ssh_host_{key_type}_key"
        argv = ["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", f"root@{host}"]
        if key_type == "rsa":
            argv += ["-b", "3072"]
        commands.run([*argv, "-f", str(path)])
        os.chmod(path, 0o600)


def install_authorized_key(host_root: Path, public_key: str) -> None:
    ssh_dir = host_root / "root" / ".ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(ssh_dir, 0o700)
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(public_key.strip() + "\n", encoding="utf-8")
    os.chmod(authorized, 0o600)


def known_hosts_lines(host_root: Path, names: Iterable[str]) -> list[str]:
    """known_hosts lines for one host: every public host key, under all its names."""
    pattern = ",".join(names)
    lines = []
    for key_type in HOST_KEY_TYPES:
        pub = host_root / "etc" / "ssh" / f"ssh_host_{key_type}_key.pub"
        try:
            algorithm, blob = pub.read_text(encoding="utf-8").split()[:2]
        except (FileNotFoundError, ValueError):
            continue
        lines.append(f"{pattern} {algorithm} {blob}")
    return lines
