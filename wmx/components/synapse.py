"""synapse: the homeserver (the `homeserver` group), one venv per release."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wmx.components.component import Component, FirewallRules, FirewallSource, Service, SiteViews
from wmx.site.grammars import NON_PUBLIC_RANGES, covered
from wmx.site.secrets import SecretsError, secret_line
from wmx.site.settings.workers import pool_sizes

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.topology import HostView, Topology

SYNAPSE_PORT = 8008
# Synapse's metrics listener (monitoring): loopback, or the host's address, firewalled
# to the monitoring host, when Prometheus runs elsewhere.
SYNAPSE_METRICS_PORT = 9000
# Where the synapse role keeps Synapse: one venv per release and a `current` link that
# the systemd unit runs (templates/synapse/etc/systemd/system/matrix-synapse.service.j2).
SYNAPSE_VENVS_DIR = "/opt/synapse/venvs"
SYNAPSE_CURRENT_LINK = "/opt/synapse/current"
# Where Synapse finds wmx's modules (wmx/agent/wikimedia_login.py): on its PYTHONPATH.
SYNAPSE_MODULES_DIR = "/usr/local/lib/wmx-synapse"


def synapse_bind_for(topology: Topology, host: HostView) -> list[str]:
    """Where Synapse's HTTP listener binds: loopback always (health checks, admin
    tunnel), plus the host's internal address when the proxy runs elsewhere."""
    if topology.the("proxy").name == host.name:
        return ["127.0.0.1"]
    return ["127.0.0.1", host.internal_address]


def own_networks(topology: Topology) -> list[str]:
    """The site's own hosts as /32 and /128 networks, in inventory order: each host's
    internal address and ansible_host when they are IP addresses (a host name is skipped:
    give its addresses as public_ipv4 / public_ipv6), and its public_ipv4 / public_ipv6.
    Their firewalls admit the homeserver host (PostgreSQL, the workers' replication), and
    a host reaches every port it listens on through its own address: Synapse must never
    fetch from them on a user's behalf (link previews, push gateways, federation)."""
    found: dict[str, None] = {}
    for host in topology.hosts:
        values: list[object] = [host.internal_address, host.address]
        for key in ("public_ipv4", "public_ipv6"):
            value = host.vars.get(key)
            values.extend(value if isinstance(value, list) else [value] if value else [])
        for value in values:
            try:
                found.setdefault(str(ipaddress.ip_network(str(value))), None)
            except ValueError:
                continue
    return list(found)


def blocked_ranges(ranges: list[str] | tuple[str, ...], topology: Topology) -> list[str]:
    """`ranges` and the site's own hosts they do not cover already (own_networks)."""
    blocked = list(ranges)
    return blocked + [
        n for n in own_networks(topology) if not covered(ipaddress.ip_network(n), blocked)
    ]


class Synapse(Component):
    name = "synapse"
    settings_sections = ("synapse",)
    # A host of `synapse_workers` gets Synapse's release, settings and signing key for
    # its workers (synapse_workers), but no main process.
    groups = ("homeserver", "synapse_workers")
    services = (
        Service("synapse", "matrix-synapse.service", SYNAPSE_CURRENT_LINK, ("homeserver",)),
    )

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        config = views.site.config
        cp_min, cp_max = pool_sizes(
            config.synapse.workers.processes, config.postgresql.max_connections
        )
        return {
            "synapse_bind": synapse_bind_for(views.site.topology, host),
            # What Synapse's requests on users' behalf never reach: every non-public range
            # (Synapse's own default misses some, e.g. NAT64's) and the site's own hosts.
            "federation_blacklist": blocked_ranges(NON_PUBLIC_RANGES, views.site.topology),
            "preview_blacklist": blocked_ranges(
                config.synapse.url_previews.blacklist, views.site.topology
            ),
            "login": login_view(views.site),
            # Each process's pool: all of them and a reserve fit in max_connections.
            "db_pool": {"cp_min": cp_min, "cp_max": cp_max},
        }

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        # A remote proxy reaches Synapse.
        if "homeserver" not in host.groups:
            return FirewallRules()
        proxies = views.site.topology.in_group("proxy")
        return FirewallRules(
            restricted=tuple(
                FirewallSource(SYNAPSE_PORT, p.internal_address)
                for p in proxies
                if p.name != host.name
            )
        )

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        config = views.site.config
        return {
            "synapse_version": config.synapse.version,
            "synapse_server_name": config.server_name,
            "synapse_venv": f"{SYNAPSE_VENVS_DIR}/{config.synapse.version}",
            "synapse_current_link": SYNAPSE_CURRENT_LINK,
            # Only with login: on (the role's default is false): vars.json stays as it was.
            **({"synapse_oidc": True} if config.login.enabled else {}),
            # Only with workers (the role's default is false): Redis's client libraries.
            **({"synapse_redis": True} if config.synapse.workers.enabled else {}),
            # A worker host: no main process; the signing key comes from the homeserver
            # host (the role's default: this is the homeserver host).
            **(
                {
                    "synapse_main": False,
                    "synapse_key_host": views.site.topology.the("homeserver").name,
                }
                if "homeserver" not in host.groups
                else {}
            ),
        }


def require_login_secret(site: Site) -> None:
    """The consumer's secret, which `wmx init` with a consumer key and no questions
    leaves to `wmx login client-secret`: a site without it loads (that command must
    run), but it renders and validates only once the secret is stored. Refused as
    secrets.yml's input error, as a missing generated secret is (exit 2, its line)."""
    if site.config.login.enabled and not site.secrets.login_client_secret:
        where = secret_line(site.paths.secrets, "login_client_secret")
        raise SecretsError(
            f"{where}: login_client_secret is not set, and wmx.yaml sets login.provider: "
            "store the OAuth 2.0 consumer's secret with `wmx login client-secret`"
        )


def login_view(site: Site) -> dict[str, Any] | None:
    """Synapse's OIDC provider for `login:` (docs/login.md), or None when it is off."""
    from wmx.site.settings.login import AUTHORIZE_PATH, IDP_ID, PROFILE_PATH, TOKEN_PATH

    login = site.config.login
    if not login.enabled:
        return None
    require_login_secret(site)
    return {
        "idp_id": IDP_ID,
        "idp_name": login.button_label,
        "issuer": login.wiki_url + "/",
        "client_id": login.consumer_key,
        "authorization_endpoint": login.endpoint(AUTHORIZE_PATH),
        "token_endpoint": login.endpoint(TOKEN_PATH),
        "userinfo_endpoint": login.endpoint(PROFILE_PATH),
        "mapping": {
            "server_name": site.config.server_name,
            "min_edit_count": login.min_edit_count,
            "require_confirmed_email": login.require_confirmed_email,
            "wiki": urlsplit(login.wiki_url).hostname or login.wiki_url,
        },
        "sul_only": login.sul_only,
        "modules_dir": SYNAPSE_MODULES_DIR,
    }


COMPONENT = Synapse()
