"""nginx: the proxy (the `proxy` group): TLS, `.well-known`, and every public name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, FirewallRules, Service, SiteViews
from wmx.components.synapse import SYNAPSE_PORT
from wmx.components.turn import turn_view
from wmx.site.grammars import host_port

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.model import SiteConfig
    from wmx.site.topology import HostView, Topology


# The largest request body Synapse itself takes besides media uploads: a full federation
# transaction, 200 events of 64 KiB (synapse.api.constants.MAX_REQUEST_SIZE, which
# synapse.app._base.max_request_body_size raises to max_upload_size, never lowers).
SYNAPSE_REQUEST_LIMIT_KIB = 200 * 64


def body_limit_kib(config: SiteConfig) -> int:
    """nginx's client_max_body_size on the homeserver's name, in KiB: Synapse's own limit,
    so that nginx refuses nothing Synapse would take (a remote server's full transaction
    on a site whose upload limit is lower); Synapse refuses a larger upload itself, with
    the same 413 M_TOO_LARGE."""
    return max(config.synapse.max_upload_size_mb * 1024, SYNAPSE_REQUEST_LIMIT_KIB)


@dataclass(frozen=True)
class MatrixError:
    """An answer nginx gives itself on the homeserver's name, as the Matrix error JSON
    (`errcode`, `error`) clients parse, instead of nginx's HTML page."""

    status: int
    errcode: str
    error: str
    # The status sent, where it is not `status`: nginx's own 494 (a header too large),
    # which it would otherwise send as a 400 with its HTML page.
    answered_as: int | None = None

    @property
    def uri(self) -> str:
        """The error page's URI (an internal location of the homeserver's server block)."""
        return f"/_wmx/error/{self.status}"

    @property
    def body(self) -> str:
        """The JSON, for a single-quoted nginx string: nothing in it that nginx would
        read as a variable, an escape or the string's end."""
        body = json.dumps({"errcode": self.errcode, "error": self.error}, ensure_ascii=True)
        if any(c in body for c in "'\\$"):
            raise ValueError(f"not a literal nginx string: {body}")
        return body


def matrix_errors(config: SiteConfig) -> list[MatrixError]:
    """What nginx itself answers on the homeserver's name: a body over the upload limit
    (the spec's 413 M_TOO_LARGE, which Synapse gives too), the Admin API and unknown paths
    (404 M_UNRECOGNIZED, as Synapse answers an unknown endpoint), a request nginx cannot
    take, and Synapse down or restarting."""
    limit = body_limit_kib(config) / 1024
    return [
        MatrixError(400, "M_UNKNOWN", "Bad request"),
        MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request"),
        MatrixError(
            413, "M_TOO_LARGE", f"Request too large: this server accepts at most {limit:g} MiB"
        ),
        MatrixError(414, "M_UNKNOWN", "Request URI too long"),
        MatrixError(494, "M_UNKNOWN", "Request header too large", answered_as=431),
        MatrixError(500, "M_UNKNOWN", "Internal server error"),
        MatrixError(502, "M_UNKNOWN", "The homeserver is not answering; try again shortly"),
        MatrixError(503, "M_UNKNOWN", "The homeserver is not answering; try again shortly"),
        MatrixError(504, "M_UNKNOWN", "The homeserver did not answer in time; try again shortly"),
    ]


@dataclass(frozen=True)
class NginxView:
    """What the proxy serves, the same for every host that asks."""

    tls_names: list[str]
    well_known_client: dict[str, Any]
    well_known_support: dict[str, Any]
    matrix_errors: list[MatrixError]
    body_limit_kib: int


@dataclass(frozen=True)
class ProxyView:
    """Where the proxy forwards Matrix traffic: Synapse's loopback listener if local."""

    upstream: str


def proxy_for(topology: Topology, host: HostView) -> ProxyView:
    synapse = topology.the("homeserver")
    address = "127.0.0.1" if synapse.name == host.name else synapse.internal_address
    return ProxyView(upstream=host_port(address, SYNAPSE_PORT))


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


def support_well_known(config: SiteConfig) -> dict[str, Any]:
    """`/.well-known/matrix/support` (the spec's server support information): whom people
    and other servers' operators contact about this one: `contacts.admin_email`."""
    return {"contacts": [{"email_address": config.contacts.admin_email, "role": "m.role.admin"}]}


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
            tls_names=public_names(site),
            well_known_client=client_well_known(site.config),
            well_known_support=support_well_known(site.config),
            matrix_errors=matrix_errors(site.config),
            body_limit_kib=body_limit_kib(site.config),
        )

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        view: NginxView = views["nginx"]
        return {
            "proxy": proxy_for(views.site.topology, host),
            "tls_names": view.tls_names,
            "well_known_client": view.well_known_client,
            "well_known_support": view.well_known_support,
            "matrix_errors": view.matrix_errors,
            "body_limit_kib": view.body_limit_kib,
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
