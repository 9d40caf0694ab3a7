"""What `wmx irc status|sync|plumb|unplumb|plumb-file` ask of the running bridge, in this order:
the site's bridge checked (wmx.yaml turns it on), the channel, room and network given
checked before any connection, a session as wmx's admin account, the bridge synced to
wmx.yaml first, then the change. Each returns what the command shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wmx.admin.ids import check_room
from wmx.irc.channels import parse_channel_file
from wmx.irc.health import bridge_health
from wmx.irc.manage import PlumbResult, bridge_session
from wmx.irc.names import bridge_view, check_channel, check_network
from wmx.present import checked
from wmx.site import Site


def health(site: Site, url: str | None) -> dict[str, Any]:
    """Whether the bridge is up, its networks, connections and plumbs (wmx.irc.health)."""
    with bridge_session(site, url) as manager:
        return bridge_health(manager)


def sync(site: Site, url: str | None) -> list[str]:
    """The bridge made to match wmx.yaml; what changed."""
    bridge_view(site)
    with bridge_session(site, url) as manager:
        return manager.sync().changes


def plumb(
    site: Site, url: str | None, channel: str, room: str | None, network: str | None
) -> list[PlumbResult]:
    """`channel` bridged into `room` (default: a new public room named after it)."""
    bridge_view(site)
    name = checked(check_channel, channel)
    target = checked(check_room, room.strip()) if room else None
    net = check_network(site, network)
    with bridge_session(site, url) as manager:
        manager.sync()
        return [manager.plumb(name, target, net)]


def unplumb(site: Site, url: str | None, channel: str, network: str | None) -> list[PlumbResult]:
    """`channel` no longer bridged: the bridge leaves its room and the channel."""
    bridge_view(site)
    name = checked(check_channel, channel)
    net = check_network(site, network)
    with bridge_session(site, url) as manager:
        return [manager.unplumb(name, net)]


def plumb_file(site: Site, url: str | None, path: Path) -> list[PlumbResult]:
    """Every channel of a file plumbed (the whole file checked first)."""
    bridge_view(site)
    entries = parse_channel_file(path, site)
    with bridge_session(site, url) as manager:
        manager.sync()
        return manager.plumb_each(entries)
