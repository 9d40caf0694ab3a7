"""Rules across wmx.yaml and the inventory, checked when a site is loaded.

The model (wmx.site.model) checks wmx.yaml on its own and the inventory reader checks
the groups; what needs both is said here, once, so that rendering never finds a site
it cannot render.
"""

from __future__ import annotations

from wmx.errors import InputError
from wmx.site.model import SiteConfig
from wmx.site.topology import Topology


def check_site(config: SiteConfig, topology: Topology) -> None:
    _check_turn(config, topology)
    _check_backup(config, topology)


def _check_turn(config: SiteConfig, topology: Topology) -> None:
    for host in topology.in_group("turn"):
        if config.turn.tls and "proxy" not in host.groups:
            raise InputError(
                f"turn.tls: coturn on {host.name} would need the site's certificate, which "
                "the proxy host keeps: put the proxy host in group 'turn', or set "
                "turn.tls: false (calls then use TURN over UDP and TCP on 3478 only)"
            )


def _check_backup(config: SiteConfig, topology: Topology) -> None:
    settings = config.backup
    if not settings.enabled:
        return
    for host in topology.in_group("homeserver"):
        remote = topology.in_group("backup")
        if not (remote or settings.repositories or settings.local_repository):
            raise InputError(
                "backup.enabled is true but the site has no repository: set "
                "backup.local_repository: true, add a host to the inventory's `backup` "
                "group, or list one in backup.repositories"
            )
        if any(repo_host.name == host.name for repo_host in remote):
            raise InputError(
                f"{host.name} is in the `backup` group and runs the homeserver: a remote "
                "repository must live on another host (backup.local_repository keeps one "
                "on this host)"
            )
