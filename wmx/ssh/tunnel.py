"""A local port forwarded over SSH to a port that a host serves on its loopback only
(Synapse's Admin API, Prometheus, Alertmanager): nothing of it is ever public."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from wmx.errors import WmxError
from wmx.site.topology import HostView
from wmx.ssh.connection import connection
from wmx.ssh.unreachable import unreachable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def port_tunnel(
    host: HostView, remote_port: int, *, remote_host: str = "127.0.0.1", timeout: float = 20.0
) -> Iterator[str]:
    """Yield a local base URL (http://127.0.0.1:PORT) forwarded to remote_host:remote_port
    as seen from `host` (its loopback by default): Prometheus, Alertmanager, Synapse."""
    port = _free_port()
    argv = connection(host).ssh_argv(
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-L",
        f"127.0.0.1:{port}:{remote_host}:{remote_port}",
    )
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read() if process.stderr else b""
                raise unreachable(host, stderr.decode(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise WmxError(
                        f"SSH tunnel to {host.name} ({host.address}) did not open within "
                        f"{timeout:.0f} s"
                    ) from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
