"""The bridge and the names `wmx irc` takes: the site's bridge, its networks, IRC channel
names, and the alias of the room wmx makes for a channel. Checked before anything is
sent to the bridge."""

from __future__ import annotations

import re
from typing import Any

from wmx.components.irc_bridge import IrcBridgeView, allow_masks, irc_bridge_view
from wmx.errors import InputError
from wmx.site import Site
from wmx.site.model import IrcNetwork

# What an IRC channel name may be (RFC 2812: no space, comma or BEL; Libera: at most 50).
_CHANNEL = re.compile(r"[#&+!][^\s,\x07:]{1,49}")


def bridge_view(site: Site) -> IrcBridgeView:
    """The site's bridge, or a clear error when it has none (before anything is changed)."""
    view = irc_bridge_view(site.config, site.topology)
    if view is None:
        raise InputError(
            "this site has no IRC bridge: put the homeserver's host into group irc_bridge "
            f"in {site.paths.inventory.name} and run `wmx deploy`"
        )
    return view


def bridge_summary(site: Site) -> dict[str, Any]:
    """What wmx.yaml gives the bridge (`wmx irc networks`): its networks, relay nick and
    realname, its owner and who may use it. No host is contacted."""
    view = bridge_view(site)
    return {
        "networks": [
            {"name": n.name, "servers": [str(s) for s in n.servers], "sasl": n.sasl}
            for n in view.networks
        ],
        "relay_nick": view.relay_nick,
        "realname": view.realname,
        "owner": view.owner,
        "allowed": allow_masks(site.config),
    }


def check_network(site: Site, name: str | None) -> IrcNetwork:
    """A network of the site by name (default: the first), or a clear error."""
    networks = site.config.irc_bridge.networks
    if not networks:
        raise InputError("irc_bridge.networks in wmx.yaml lists no network")
    if name is None:
        return networks[0]
    found = site.config.irc_bridge.network(name.strip().lower())
    if found is None:
        known = ", ".join(n.name for n in networks)
        raise InputError(
            f"unknown network {name!r}; this site's networks: {known} (irc_bridge.networks "
            "in wmx.yaml)"
        )
    return found


def check_channel(value: str) -> str:
    """An IRC channel name as typed (`#wikimedia-de`); a bare name gets its `#`."""
    text = value.strip()
    if text and text[0] not in "#&+!":
        text = "#" + text
    if not _CHANNEL.fullmatch(text):
        raise ValueError(
            f"{value!r} is not an IRC channel name (such as #wikimedia-de: no spaces, "
            "commas or colons, at most 50 characters)"
        )
    return text


def room_alias_for(network: str, channel: str, server_name: str) -> str:
    """The alias of the room wmx makes for a channel: #<network>_<channel>:server."""
    return f"#{network}_{channel[1:].lower()}:{server_name}"
