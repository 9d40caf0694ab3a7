"""`wmx doctor` for a site: the outside checks against its public names, the inside
checks against its hosts, in one report."""

from __future__ import annotations

import ssl
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from wmx.components import services_of
from wmx.components.backup import backs_up
from wmx.components.exporters import METRICS_PORTS
from wmx.components.synapse import SYNAPSE_PORT
from wmx.doctor.backups import backup_checks
from wmx.doctor.checks import DEPLOY, Check, Report, failed
from wmx.doctor.drift import drift_check
from wmx.doctor.exposure import exposure_check, registration_check
from wmx.doctor.inside import (
    HostRunner,
    collation_check,
    federation_ranges_check,
    host_checks,
    previews_check,
    read_synapse_config,
    ssh_runner,
)
from wmx.doctor.outside import Outside, outside_checks
from wmx.doctor.release import PYPI_SIMPLE, pypi_versions, release_check
from wmx.doctor.services import services_check
from wmx.site import Site

POSTGRES_PORT = 5432
DATABASE = "synapse"  # wmx.components.postgresql.DatabaseView.name
# Check kinds, in the order the report shows them (what --skip accepts).
OUTSIDE_KINDS = (
    "dns-server-name",
    "dns-homeserver",
    "dns-srv",
    "well-known-server",
    "well-known-client",
    "federation-endpoint",
    "tls",
    "cert-expiry",
    "server-keys",
    "federation-version",
    "client-versions",
)
INSIDE_KINDS = (
    "clock",
    "disk",
    "memory",
    "services",
    "config-drift",
    "registration",
    "previews-blacklist",
    "federation-ranges",
    "admin-api-hidden",
    "postgres-collation",
    "backup-fresh",
    "backup-signing-key",
    "synapse-release",
)
KINDS = OUTSIDE_KINDS + INSIDE_KINDS


@dataclass
class DoctorOptions:
    tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)
    outside: bool = True
    inside: bool = True
    skip: Collection[str] = ()
    index_url: str = PYPI_SIMPLE
    run: HostRunner = ssh_runner


def site_target(site: Site, tls: ssl.SSLContext) -> Outside:
    config = site.config
    return Outside(
        server_name=config.server_name,
        homeserver_host=config.homeserver.host,
        federation_port=config.homeserver.federation_port,
        federation=config.homeserver.federation,
        tls=tls,
    )


def internal_ports(site: Site) -> list[tuple[str, str, int, str]]:
    """Ports of the site's hosts that only its own hosts may reach: what, address, port,
    and the kind of service that answers there."""
    probes = []
    for host in site.topology.hosts:
        ports = {f"metrics {name}": (port, "metrics") for name, port in METRICS_PORTS.items()}
        if "homeserver" in host.groups:
            ports["Synapse's plain HTTP listener"] = (SYNAPSE_PORT, "http")
        if "database" in host.groups:
            ports["PostgreSQL"] = (POSTGRES_PORT, "postgres")
        probes += [
            # Where these ports listen: the internal address (ansible_host may be a
            # public address or name that they are never bound to).
            (f"{what} on {host.name}", host.internal_address, port, kind)
            for what, (port, kind) in ports.items()
        ]
    return probes


def _live_config_checks(site: Site, options: DoctorOptions, skip: set[str]) -> list[Check]:
    """The checks of Synapse's live configuration (read once from the homeserver)."""
    config = site.config.synapse
    try:
        live = read_synapse_config(site.topology.the("homeserver"), options.run)
    except ValueError as exc:
        return [
            failed(kind, title, str(exc), f"`wmx logs synapse`; {DEPLOY}", "inside")
            for kind, title in (
                ("previews-blacklist", "Link previews cannot reach private addresses"),
                ("federation-ranges", "Federation cannot reach private addresses"),
            )
            if kind not in skip
        ]
    checks = []
    if "previews-blacklist" not in skip:
        checks.append(previews_check(live, list(config.url_previews.allow_ranges)))
    if "federation-ranges" not in skip:
        allowed = list(config.federation_allow_ranges)
        federation = site.config.homeserver.federation
        checks.append(federation_ranges_check(live, allowed, federation))
    return checks


def _inside(site: Site, target: Outside, options: DoctorOptions, skip: set[str]) -> list[Check]:
    topology, config, run = site.topology, site.config, options.run
    checks: list[Check] = []
    # One SSH command per host first (clock, disk, memory): a host SSH does not reach is
    # one failed `ssh:HOST` check, and nothing else is asked of it (no row of failures
    # each with a fix for what it could not look at).
    with ThreadPoolExecutor(max_workers=min(8, len(topology.hosts))) as pool:
        for found in pool.map(lambda h: host_checks(h, run), topology.hosts):
            checks += found
    unreached = {c.id.split(":", 1)[1] for c in checks if c.kind == "ssh"}
    hosts = [h for h in topology.hosts if h.name not in unreached]
    if "services" not in skip and hosts:
        several = len(topology.hosts) > 1
        with ThreadPoolExecutor(max_workers=min(8, len(hosts))) as pool:
            checks += pool.map(
                lambda h: services_check(h, services_of(site, h), run, several), hosts
            )
    if "config-drift" not in skip and hosts:
        record = site.paths.deployed
        with ThreadPoolExecutor(max_workers=min(8, len(hosts))) as pool:
            checks += pool.map(lambda h: drift_check(h, record / h.name, run), hosts)
    base = f"https://{config.homeserver.host}"
    if "registration" not in skip:
        checks.append(registration_check(target, base))
    homeserver = topology.the("homeserver")
    database = topology.the("database")
    if not skip >= {"previews-blacklist", "federation-ranges"} and homeserver.name not in unreached:
        checks += _live_config_checks(site, options, skip)
    if "admin-api-hidden" not in skip:
        checks.append(exposure_check(target, base, internal_ports(site)))
    if "postgres-collation" not in skip and database.name not in unreached:
        checks.append(collation_check(database, DATABASE, run))
    if not skip >= {"backup-fresh", "backup-signing-key"}:
        if homeserver.name in unreached:
            pass
        elif config.backup.enabled and backs_up(config, homeserver):
            checks += backup_checks(homeserver, run)
        else:
            checks.append(
                failed(
                    "backup-fresh",
                    "Backups are fresh",
                    "backups are off for this site",
                    "set backup.enabled: true in wmx.yaml with a repository on another host, "
                    "then `wmx deploy`",
                    "inside",
                )
            )
    if "synapse-release" not in skip:
        # The release the server says it runs; when it was not reached, wmx.yaml's pin,
        # said as such (the check had passed on the pin without a word).
        deployed = target.synapse_version or config.synapse.version
        pinned = target.synapse_version is None
        try:
            checks.append(release_check(deployed, pypi_versions(options.index_url), pinned))
        except (OSError, ValueError) as exc:
            checks.append(
                failed(
                    "synapse-release",
                    "Synapse is current",
                    f"cannot ask PyPI: {exc}",
                    "let this machine reach pypi.org, or --skip synapse-release",
                    "inside",
                )
            )
    return checks


def run_doctor(site: Site, options: DoctorOptions | None = None) -> Report:
    options = options or DoctorOptions()
    skip = set(options.skip)
    target = site_target(site, options.tls)
    report = Report(site.config.server_name)
    if options.outside or options.inside:
        # The inside checks use what the outside ones learnt (Synapse's version).
        found = outside_checks(target)
        if options.outside:
            report.checks += found
    if options.inside:
        report.checks += _inside(site, target, options, skip)
    report.checks = [c for c in report.checks if c.kind not in skip]
    return report
