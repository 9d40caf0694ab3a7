"""turn: coturn for calls (the `turn` group): relays media between clients."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, FirewallRules, Service, SiteViews
from wmx.site.grammars import NON_PUBLIC_RANGES

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.settings.turn import TurnSettings
    from wmx.site.topology import HostView

# STUN/TURN on 3478 (UDP and TCP), TURN over TLS on 5349.
TURN_PORT = 3478
TURNS_PORT = 5349
# coturn reads the site's certificate from its own copy (it runs as turnserver, and
# certbot's keys are root's only); certbot's deploy hook refreshes it.
COTURN_TLS_DIR = "/etc/coturn/tls"
CERT_NAME = "wmx"


def _address_range(network: str) -> str:
    """coturn's notation for a network: first-last address."""
    net = ipaddress.ip_network(network)
    if net.num_addresses == 1:
        return str(net.network_address)
    return f"{net.network_address}-{net.broadcast_address}"


@dataclass(frozen=True)
class TurnView:
    """What templates/turn, Synapse's turn_uris and the firewall need (None: no TURN)."""

    host: HostView
    settings: TurnSettings
    name: str  # the public name in the URIs (and, with TLS, in the certificate)
    tls: bool
    realm: str

    @property
    def uris(self) -> list[str]:
        uris = [
            f"turn:{self.name}:{TURN_PORT}?transport=udp",
            f"turn:{self.name}:{TURN_PORT}?transport=tcp",
        ]
        if self.tls:
            uris.append(f"turns:{self.name}:{TURNS_PORT}?transport=tcp")
        return uris

    @property
    def relay_ports(self) -> tuple[int, int]:
        return (self.settings.relay_min_port, self.settings.relay_max_port)

    @property
    def denied_peer_ranges(self) -> list[str]:
        """Every non-public range: a relay must never reach into the host's networks."""
        return [_address_range(n) for n in NON_PUBLIC_RANGES]

    @property
    def allowed_peer_ips(self) -> list[str]:
        """The TURN host itself (client → TURN → TURN → client), as Synapse advises: its
        public address (ansible_host, not the internal one other hosts use)."""
        return [self.settings.external_ip or self.host.address]

    @property
    def cert_dir(self) -> str:
        return COTURN_TLS_DIR

    @property
    def certbot_live_dir(self) -> str:
        return f"/etc/letsencrypt/live/{CERT_NAME}"

    @property
    def port(self) -> int:
        return TURN_PORT

    @property
    def tls_port(self) -> int:
        return TURNS_PORT


def turn_view(site: Site) -> TurnView | None:
    """coturn as the site wants it (wmx.site.checks made sure TLS has a certificate)."""
    host = site.topology.first_in("turn")
    if host is None:
        return None
    config = site.config
    return TurnView(
        host=host,
        settings=config.turn,
        name=config.turn.host or config.homeserver.host,
        tls=config.turn.tls,
        realm=config.server_name,
    )


class Turn(Component):
    name = "turn"
    settings_sections = ("turn",)
    groups = ("turn",)
    services = (Service("coturn", "coturn.service", "coturn"),)

    def removed_from(self, site: Site, host: HostView) -> bool:
        return True

    def view(self, site: Site) -> TurnView | None:
        return turn_view(site)

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {"turn": views["turn"]}

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        turn: TurnView | None = views["turn"]
        if turn is None or "turn" not in host.groups:
            return FirewallRules()
        # STUN/TURN, TURN over TLS, and the range coturn relays media through.
        ports = (TURN_PORT, *((TURNS_PORT,) if turn.tls else ()))
        return FirewallRules(
            tcp_ports=ports,
            udp_ports=(*map(str, ports), "{}-{}".format(*turn.relay_ports)),
        )

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {"turn_tls": views["turn"].tls, "turn_cert_dir": COTURN_TLS_DIR}


COMPONENT = Turn()
