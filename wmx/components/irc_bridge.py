"""irc_bridge: Heisenbridge (the `irc_bridge` group, on the homeserver's host).

What the IRC bridge's files and wmx's bridge client need, derived from the site.
Heisenbridge keeps its own configuration (networks, who may use it) in Synapse, as
account data of its bot; wmx makes that agree with `irc_bridge` in wmx.yaml by talking to
the bot (`wmx.irc`). This view is the one place that says what the site wants, so the
rendered files, the deploy and `wmx irc` agree by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wmx.components.component import (
    Component,
    FirewallRules,
    FirewallSource,
    Service,
    SiteViews,
    Step,
)
from wmx.components.synapse import SYNAPSE_PORT
from wmx.site.grammars import host_port
from wmx.site.model import SiteConfig
from wmx.site.settings.irc_bridge import IrcBridgeSettings, IrcNetwork
from wmx.site.topology import WORKER_GROUP

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.topology import HostView, Topology

# Heisenbridge's appservice listener (Synapse pushes events to it; the proxy forwards
# its media links) and its identd, which IRC servers query.
HEISENBRIDGE_PORT = 9898
IDENTD_PORT = 113
# The appservice's id and bot (its sender_localpart), and the prefix of IRC users'
# Matrix puppets (@irc_libera_nick:server). The prefix can never change once the bridge
# has run: Heisenbridge refuses to start with another namespace.
APPSERVICE_ID = "heisenbridge"
BOT_LOCALPART = "heisenbridge"
PUPPET_PREFIX = "irc_"
# The account that owns the bridge: wmx's own admin account (wmx.admin.account).
OWNER_LOCALPART = "wmx-admin"
BOT_DISPLAY_NAME = "IRC bridge"
# Libera.Chat's REALLEN: longer realnames are cut by the server.
REALNAME_MAX = 50
RELAY_NICK_SUFFIX = "-matrix"
NICK_MAX = 16

# Where the role installs Heisenbridge (one venv per release) and its registration.
HEISENBRIDGE_VENVS_DIR = "/opt/heisenbridge/venvs"
# The unit runs the release this link points at (the role's irc_bridge_current_link):
# `wmx upgrade` switches it to another release's venv and back.
HEISENBRIDGE_CURRENT_LINK = "/opt/heisenbridge/current"
REGISTRATION_FOR_BRIDGE = "/etc/heisenbridge/registration.yaml"
REGISTRATION_FOR_SYNAPSE = "/etc/matrix-synapse/appservices/heisenbridge.yaml"


def relay_nick(config: SiteConfig) -> str:
    """`irc_bridge.relay.nick`, or the first label of the server name + "-matrix"."""
    if config.irc_bridge.relay.nick:
        return config.irc_bridge.relay.nick
    label = re.sub(r"[^A-Za-z0-9-]", "", config.server_name.split(".", 1)[0]) or "wmx"
    if label[0].isdigit() or label[0] == "-":
        label = "m" + label
    return label[: NICK_MAX - len(RELAY_NICK_SUFFIX)] + RELAY_NICK_SUFFIX


def relay_realname(config: SiteConfig) -> str:
    """Says who runs the relay and how to reach them (Libera.Chat wants bots attributable):
    the longest of a few forms that fits the network's realname limit."""
    contact = config.contacts.admin_email
    for text in (
        f"Matrix bridge of {config.server_name}; {contact}",
        f"Matrix bridge; {contact}",
    ):
        if len(text) <= REALNAME_MAX:
            return text
    return contact[:REALNAME_MAX]


def allow_masks(config: SiteConfig) -> dict[str, str]:
    """The bridge's allow list: Matrix user mask → "user" or "admin" (Heisenbridge's own
    words). The owner (wmx's admin account) needs no mask: the bridge's -o makes it one."""
    settings = config.irc_bridge
    users = settings.allowed_users
    if users is None:
        users = [f"@*:{config.server_name}"]
    masks = {mask: "user" for mask in users}
    masks.update({mask: "admin" for mask in settings.admins})
    return masks


@dataclass(frozen=True)
class IrcBridgeView:
    """What templates/irc_bridge (and Synapse's and nginx's templates) need."""

    host: HostView
    settings: IrcBridgeSettings
    server_name: str
    listen_address: str
    media_url: str
    relay_nick: str
    realname: str

    appservice_id: str = APPSERVICE_ID
    bot_localpart: str = BOT_LOCALPART
    bot_display_name: str = BOT_DISPLAY_NAME
    puppet_prefix: str = PUPPET_PREFIX
    port: int = HEISENBRIDGE_PORT
    identd_port: int = IDENTD_PORT
    registration_for_bridge: str = REGISTRATION_FOR_BRIDGE
    registration_for_synapse: str = REGISTRATION_FOR_SYNAPSE

    @property
    def url(self) -> str:
        """Where Synapse pushes the bridge's events (the registration's `url`)."""
        return f"http://{host_port(self.listen_address, self.port)}"

    @property
    def media_upstream(self) -> str:
        """address:port at which the proxy reaches the bridge's media links."""
        return host_port(self.listen_address, self.port)

    @property
    def homeserver_url(self) -> str:
        """Where the bridge reaches Synapse: its loopback listener on the same host."""
        return f"http://127.0.0.1:{SYNAPSE_PORT}"

    @property
    def owner(self) -> str:
        return f"@{OWNER_LOCALPART}:{self.server_name}"

    @property
    def bot_user_id(self) -> str:
        return f"@{self.bot_localpart}:{self.server_name}"

    @property
    def puppet_regex(self) -> str:
        """The registration's exclusive user namespace: the puppets, on this server only."""
        return f"@{self.puppet_prefix}.*:{re.escape(self.server_name)}"

    @property
    def venv(self) -> str:
        return f"{HEISENBRIDGE_VENVS_DIR}/{self.settings.version}"

    @property
    def current_link(self) -> str:
        return HEISENBRIDGE_CURRENT_LINK

    @property
    def networks(self) -> list[IrcNetwork]:
        return list(self.settings.networks)


def bridge_callers(topology: Topology, host: HostView) -> list[HostView]:
    """The other hosts that call the bridge on `host`: a remote proxy (the media links it
    gives IRC users) and the hosts of group synapse_workers, whose Synapse processes push
    the bridge its events (notify_appservices_from_worker) and ask it about its users."""
    callers: dict[str, HostView] = {}
    for other in (*topology.in_group("proxy"), *topology.in_group(WORKER_GROUP)):
        if other.name != host.name:
            callers.setdefault(other.name, other)
    return list(callers.values())


def bridge_bind_for(topology: Topology, host: HostView) -> str | None:
    """Where Heisenbridge listens on `host`: loopback when nothing on another host calls
    it, else the host's internal address (firewalled to those callers: bridge_callers)."""
    if "irc_bridge" not in host.groups:
        return None
    return host.internal_address if bridge_callers(topology, host) else "127.0.0.1"


def irc_bridge_view(config: SiteConfig, topology: Topology) -> IrcBridgeView | None:
    """The bridge as the site wants it, or None when no host is in group irc_bridge."""
    host = topology.bridge_host
    if host is None:
        return None
    listen = bridge_bind_for(topology, host) or "127.0.0.1"
    return IrcBridgeView(
        host=host,
        settings=config.irc_bridge,
        server_name=config.server_name,
        listen_address=listen,
        media_url=f"https://{config.homeserver.host}",
        relay_nick=relay_nick(config),
        realname=relay_realname(config),
    )


class IrcBridge(Component):
    name = "irc_bridge"
    settings_sections = ("irc_bridge",)
    groups = ("irc_bridge",)
    services = (Service("heisenbridge", "heisenbridge.service", HEISENBRIDGE_CURRENT_LINK),)

    def removed_from(self, site: Site, host: HostView) -> bool:
        # Only a homeserver host can have run it.
        return "homeserver" in host.groups

    def steps(self) -> tuple[Step, ...]:
        # The registration must exist before Synapse loads it; the bridge starts once
        # Synapse runs.
        return (Step(self.name, before="synapse"), Step(self.name, "start"))

    def view(self, site: Site) -> IrcBridgeView | None:
        return irc_bridge_view(site.config, site.topology)

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {"irc": views["irc_bridge"]}

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        bind = bridge_bind_for(views.site.topology, host)
        if bind is None:
            return FirewallRules()
        # A remote proxy reaches the bridge for its media links, the worker hosts'
        # Synapse processes for its appservice API; nobody else.
        callers = bridge_callers(views.site.topology, host)
        return FirewallRules(
            tcp_ports=(IDENTD_PORT,),
            restricted=tuple(
                FirewallSource(HEISENBRIDGE_PORT, c.internal_address) for c in callers
            ),
        )

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        bridge: IrcBridgeView = views["irc_bridge"]
        return {
            "irc_bridge_version": bridge.settings.version,
            "irc_bridge_venv": bridge.venv,
            "irc_bridge_url": bridge.url,
            "irc_bridge_registration": bridge.registration_for_bridge,
            "irc_bridge_synapse_registration": bridge.registration_for_synapse,
        }


COMPONENT = IrcBridge()
