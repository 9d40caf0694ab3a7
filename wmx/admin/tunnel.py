"""Reach Synapse's loopback listener on the homeserver host through an SSH tunnel.

The Admin API is never exposed publicly (nginx refuses /_synapse/admin), so wmx
forwards a local port to 127.0.0.1:8008 on the host, with the inventory's SSH settings.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from wmx.errors import WmxError
from wmx.site.topology import SYNAPSE_PORT, HostView


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ssh_base_argv(host: HostView) -> list[str]:
    """ssh options from the inventory (the same connection Ansible uses)."""
    values = host.vars
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
    if values.get("ansible_port"):
        argv += ["-p", str(values["ansible_port"])]
    if values.get("ansible_ssh_private_key_file"):
        argv += ["-i", str(values["ansible_ssh_private_key_file"])]
    argv += shlex.split(str(values.get("ansible_ssh_common_args", "")))
    user = values.get("ansible_user")
    argv.append(f"{user}@{host.address}" if user else host.address)
    return argv


@contextmanager
def synapse_tunnel(host: HostView, timeout: float = 20.0) -> Iterator[str]:
    """Yield a local base URL (http://127.0.0.1:PORT) that reaches Synapse on `host`."""
    with port_tunnel(host, SYNAPSE_PORT, timeout=timeout) as base_url:
        yield base_url


@contextmanager
def port_tunnel(
    host: HostView, remote_port: int, *, remote_host: str = "127.0.0.1", timeout: float = 20.0
) -> Iterator[str]:
    """Yield a local base URL (http://127.0.0.1:PORT) forwarded to remote_host:remote_port
    as seen from `host` (its loopback by default): Prometheus, Alertmanager, Synapse."""
    port = _free_port()
    argv = ssh_base_argv(host)
    argv[1:1] = [
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-L",
        f"127.0.0.1:{port}:{remote_host}:{remote_port}",
    ]
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                cause = (
                    (process.stderr.read() if process.stderr else b"")
                    .decode(errors="replace")
                    .strip()
                )
                raise WmxError(
                    f"SSH tunnel to {host.name} ({host.address}) failed: {cause or 'ssh exited'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise WmxError(
                        f"SSH tunnel to {host.name} did not open within {timeout:.0f} s"
                    ) from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
