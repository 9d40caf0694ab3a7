"""nginx: the proxy (the `proxy` group): TLS, `.well-known`, and every public name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, FirewallRules, Service, SiteViews
from wmx.components.synapse import SYNAPSE_PORT
from wmx.components.turn import turn_view

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.model import SiteConfig
    from wmx.site.topology import HostView, Topology


@dataclass(frozen=True)
class NginxView:
    """What the proxy serves, the same for every host that asks."""

    tls_names: list[str]
    well_known_client: dict[str, Any]


@dataclass(frozen=True)
class ProxyView:
    """Where the proxy forwards Matrix traffic: Synapse's loopback listener if local."""

    upstream: str


def proxy_for(topology: Topology, host: HostView) -> ProxyView:
    synapse = topology.the("homeserver")
    address = "127.0.0.1" if synapse.name == host.name else synapse.address
    return ProxyView(upstream=f"{address}:{SYNAPSE_PORT}")


def public_names(site: Site) -> list[str]:
    """Every name the proxy answers for and its certificate covers: the web client's
    joins with Element, TURN's own with TLS on coturn."""
    turn = turn_view(site)
    extra = (turn.name,) if turn is not None and turn.tls else ()
    element = site.topology.first_in("element") is not None
    return site.config.public_names(web_client=element, extra=extra)


def client_well_known(config: SiteConfig) -> dict[str, Any]:
    """`/.well-known/matrix/client`: how any client finds this homeserver.

    TURN servers are not listed here: clients ask the homeserver for them, with
    short-lived credentials (`/voip/turnServer`).
    """
    document: dict[str, Any] = {"m.homeserver": {"base_url": f"https://{config.homeserver.host}"}}
    element = config.element
    if element.identity_server:
        document["m.identity_server"] = {"base_url": element.identity_server}
    if config.synapse.privacy.encryption_by_default == "off":
        # Element reads this: new private rooms and DMs start unencrypted.
        document["io.element.e2ee"] = {"default": False}
    if element.jitsi_domain:
        document["im.vector.riot.jitsi"] = {"preferredDomain": element.jitsi_domain}
    return document


class Nginx(Component):
    name = "nginx"
    settings_sections = ("tls", "acme")
    groups = ("proxy",)
    services = (
        Service("nginx", "nginx.service", "nginx"),
        Service("certbot", "certbot.timer", "certbot"),
    )

    def view(self, site: Site) -> NginxView:
        return NginxView(
            tls_names=public_names(site), well_known_client=client_well_known(site.config)
        )

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        view: NginxView = views["nginx"]
        return {
            "proxy": proxy_for(views.site.topology, host),
            "tls_names": view.tls_names,
            "well_known_client": view.well_known_client,
        }

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        if "proxy" not in host.groups:
            return FirewallRules()
        federation = views.site.config.homeserver.federation_port == 8448
        return FirewallRules(tcp_ports=(80, 443, *((8448,) if federation else ())))

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        config = views.site.config
        return {
            "nginx_tls_domains": views["nginx"].tls_names,
            "acme_directory": config.acme.directory,
            "acme_staging_directory": config.acme.rehearsal_directory,
            "acme_email": config.acme.email,
        }


COMPONENT = Nginx()
