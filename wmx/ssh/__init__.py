"""Reaching hosts over SSH: the one place that knows how (wmx status, logs, backup,
restore, drill, the admin tunnel). Connection settings are Ansible's, from the inventory.

- `connection(host)` → `Connection`: `.ssh_argv(*options)` (no remote command),
  `.command(argv, as_root=True)` (a remote command, through `sudo -n` for a non-root
  user with ansible_become), `.uses_sudo`, `.become_argv()`.
- `port_tunnel(host, port)`: a local URL forwarded to a port on the host's loopback.
- `become`: the login user's sudo password (secrets.yml: sudo_password), for this
  process, in a 0600 file: on sudo's stdin for `command`, Ansible's become password file.
"""

from __future__ import annotations

from wmx.ssh.connection import BecomeError, Connection, connection
from wmx.ssh.tunnel import port_tunnel

__all__ = ["BecomeError", "Connection", "connection", "port_tunnel"]
