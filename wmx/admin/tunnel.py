"""Reach Synapse's loopback listener on the homeserver host through an SSH tunnel.

The Admin API is never exposed publicly (nginx refuses /_synapse/admin), so wmx
forwards a local port to 127.0.0.1:8008 on the host, with the inventory's SSH settings
(wmx.ssh: the connection Ansible uses).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from wmx.components.synapse import SYNAPSE_PORT
from wmx.site.topology import HostView
from wmx.ssh import port_tunnel

__all__ = ["port_tunnel", "synapse_tunnel"]


@contextmanager
def synapse_tunnel(host: HostView, timeout: float = 20.0) -> Iterator[str]:
    """Yield a local base URL (http://127.0.0.1:PORT) that reaches Synapse on `host`."""
    with port_tunnel(host, SYNAPSE_PORT, timeout=timeout) as base_url:
        yield base_url
