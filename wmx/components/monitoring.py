"""monitoring: Prometheus, Alertmanager and the blackbox exporter (the `monitoring` group).

What the monitoring host watches: scrape targets, blackbox probes, who may read it.
Derived from the site, like every other view templates get, so that prometheus.yml, the
firewall and `wmx status` agree by construction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, FirewallRules, FirewallSource, Service, SiteViews
from wmx.components.exporters import ScrapeTarget, scrape_targets
from wmx.site.grammars import host_port
from wmx.site.settings.monitoring import MonitoringSettings

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.model import SiteConfig
    from wmx.site.topology import HostView

PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
BLACKBOX_PORT = 9115
# Synapse's main process, labelled as Synapse's own dashboards and docs expect
# (`job`/`index`), so that workers can join as job="generic_worker", index="1", ….
SYNAPSE_MAIN_JOB = "master"
SYNAPSE_MAIN_INDEX = "1"
# Days before expiry at which the certificate alert fires (the 14 days).
CERT_WARNING_DAYS = 14


@dataclass(frozen=True)
class Probe:
    """One public endpoint the blackbox exporter fetches over verified HTTPS."""

    endpoint: str  # the `endpoint` label: what it is, in a word
    url: str


@dataclass(frozen=True)
class MonitoringView:
    """What the monitoring host's templates (and `wmx status`) need."""

    host: HostView
    settings: MonitoringSettings
    targets: tuple[ScrapeTarget, ...]
    probes: tuple[Probe, ...]
    server_name: str
    # bcrypt of the remote scrapers' password for web.yml, derived from the secret when
    # the plan is made (empty without remote scraping), so templates only copy it.
    remote_password_hash: str = field(default="", repr=False)

    synapse_job: str = SYNAPSE_MAIN_JOB
    synapse_index: str = SYNAPSE_MAIN_INDEX
    cert_warning_days: int = CERT_WARNING_DAYS

    @property
    def remote_scrape(self) -> bool:
        """Remote Prometheus servers may read this one (basic auth, allow-listed)."""
        return bool(self.settings.remote_scrape.allow)

    @property
    def prometheus_listen(self) -> str:
        # Loopback only, unless remote servers federate from it: then every address,
        # IPv4 and IPv6 (":port"; 0.0.0.0 left an IPv6 allow-list entry unanswered),
        # behind basic auth and a firewall that admits only the allow-list.
        return f"{'' if self.remote_scrape else '127.0.0.1'}:{PROMETHEUS_PORT}"

    @property
    def alertmanager_url(self) -> str:
        return host_port("127.0.0.1", ALERTMANAGER_PORT)

    @property
    def blackbox_address(self) -> str:
        return host_port("127.0.0.1", BLACKBOX_PORT)

    @property
    def scrape_timeout(self) -> int:
        """Prometheus refuses a scrape timeout longer than the interval."""
        return min(10, self.settings.scrape_interval)

    @property
    def group_wait(self) -> int:
        return min(30, self.settings.group_interval)

    def jobs(self) -> dict[str, list[ScrapeTarget]]:
        """Scrape job → its targets, in a stable order."""
        grouped: dict[str, list[ScrapeTarget]] = {}
        for target in self.targets:
            grouped.setdefault(target.job, []).append(target)
        return grouped


def public_probes(config: SiteConfig) -> list[Probe]:
    """The endpoints users and other servers rely on, as they reach them."""
    hs = config.homeserver
    client = f"https://{hs.host}"
    federation = client if hs.federation_port == 443 else f"https://{hs.host}:{hs.federation_port}"
    probes = [Probe("client_versions", f"{client}/_matrix/client/versions")]
    if hs.federation:
        probes += [
            Probe("federation_version", f"{federation}/_matrix/federation/v1/version"),
            Probe("server_keys", f"{federation}/_matrix/key/v2/server"),
            Probe("well_known_server", f"https://{config.server_name}/.well-known/matrix/server"),
        ]
    probes.append(
        Probe("well_known_client", f"https://{config.server_name}/.well-known/matrix/client")
    )
    return probes


def monitoring_view(site: Site) -> MonitoringView | None:
    """None when no host is in the `monitoring` group (monitoring is off)."""
    host = site.topology.monitoring_host
    if host is None:
        return None
    config = site.config
    return MonitoringView(
        host=host,
        settings=config.monitoring,
        targets=tuple(scrape_targets(site.topology)),
        probes=tuple(public_probes(config)),
        server_name=config.server_name,
        remote_password_hash=(
            bcrypt_hash(site.secrets.prometheus_remote_password)
            if config.monitoring.remote_scrape.allow
            else ""
        ),
    )


def prometheus_url(site: Site) -> str:
    """Where a remote Grafana (wmx.grafana) reaches the site's Prometheus (remote
    scraping on): ansible_host, as the operator's machine knows it (Grafana is not one of
    the site's hosts)."""
    monitor = site.topology.monitoring_host
    address = monitor.address if monitor else "127.0.0.1"
    return f"http://{host_port(address, PROMETHEUS_PORT)}"


_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_STANDARD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def bcrypt_hash(password: str, cost: int = 10) -> str:
    """bcrypt hash for Prometheus' web config, with a salt derived from the password.

    Rendering must be deterministic (the same site gives the same bytes, and an
    unchanged secret must not restart Prometheus), so the salt is not random: it is an
    HMAC of the password, which is itself a long random secret.
    """
    import bcrypt

    digest = hmac.new(password.encode(), b"wmx prometheus web.yml salt", hashlib.sha256)
    # bcrypt's salt is 16 bytes in 22 characters of its own base64 alphabet; the last
    # character carries 2 spare bits, which must be zero (a multiple of 16 in the table).
    text = base64.b64encode(digest.digest()[:16]).decode().rstrip("=")
    salt = text.translate(str.maketrans(_STANDARD_ALPHABET, _BCRYPT_ALPHABET))[:22]
    salt = salt[:21] + _BCRYPT_ALPHABET[_BCRYPT_ALPHABET.index(salt[21]) & 0x30]
    prefix = f"$2b${cost:02d}${salt}".encode()
    return bcrypt.hashpw(password.encode(), prefix).decode()


class Monitoring(Component):
    name = "monitoring"
    settings_sections = ("monitoring",)
    groups = ("monitoring",)
    services = (
        Service("prometheus", "prometheus.service", "prometheus"),
        Service("alertmanager", "prometheus-alertmanager.service", "prometheus-alertmanager"),
        Service(
            "blackbox-exporter",
            "prometheus-blackbox-exporter.service",
            "prometheus-blackbox-exporter",
        ),
    )

    def removed_from(self, site: Site, host: HostView) -> bool:
        return True

    def view(self, site: Site) -> MonitoringView | None:
        return monitoring_view(site)

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {"monitoring": views["monitoring"]}

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        # Remote Prometheus servers (monitoring.remote_scrape.allow) reach this one's.
        if "monitoring" not in host.groups:
            return FirewallRules()
        allow = views.site.config.monitoring.remote_scrape.allow
        return FirewallRules(restricted=tuple(FirewallSource(PROMETHEUS_PORT, a) for a in allow))

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {"monitoring_remote_scrape": bool(views.site.config.monitoring.remote_scrape.allow)}


COMPONENT = Monitoring()
