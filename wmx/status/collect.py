"""Gather a site's status: every host over SSH, then Prometheus and Alertmanager.

The result is plain data (`SiteStatus.to_dict()` is what `--output json` prints); the
CLI only presents it. A host or service that cannot be reached is reported as such,
never raised: a status command must work best when things are broken.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from wmx.components import components_of
from wmx.components.monitoring import ALERTMANAGER_PORT, PROMETHEUS_PORT
from wmx.errors import WmxError
from wmx.site import Site
from wmx.site.topology import HostView
from wmx.ssh import port_tunnel
from wmx.status.federation import RemoteServer, federation_remotes
from wmx.status.probe import probe_host
from wmx.status.services import services_of

# The Synapse figures on the status screen: label → PromQL (a single number).
SYNAPSE_QUERIES: dict[str, str] = {
    "daily_active_users": "sum(synapse_admin_daily_active_users)",
    "event_send_p99_seconds": (
        "histogram_quantile(0.99, sum by (le) (rate("
        'synapse_http_server_response_time_seconds_bucket{servlet="RoomSendEventRestServlet"}[5m])))'
    ),
    "federation_send_lag_seconds": (
        'max(synapse_event_processing_lag{name="federation_sender"}) / 1000'
    ),
    "federation_inbound_staging_age_seconds": (
        "max(synapse_federation_server_oldest_inbound_pdu_in_staging) / 1000"
    ),
}
CERT_QUERY = "min(probe_ssl_earliest_cert_expiry)"


@dataclass
class ServiceStatus:
    name: str
    unit: str
    state: str  # systemd ActiveState: active, inactive, failed, …
    sub_state: str
    version: str
    uptime_seconds: int | None


@dataclass
class DiskStatus:
    path: str
    size_bytes: int
    used_bytes: int
    used_ratio: float


@dataclass
class HostStatus:
    name: str
    address: str
    components: list[str]
    reachable: bool
    error: str = ""
    uptime_seconds: int | None = None
    services: list[ServiceStatus] = field(default_factory=list)
    disks: list[DiskStatus] = field(default_factory=list)
    memory_available_ratio: float | None = None
    cert_expires_at: float | None = None  # proxy: the certificate on disk
    backup: dict[str, float] = field(default_factory=dict)  # the textfile metric

    @property
    def healthy(self) -> bool:
        """Reachable, every service active, no disk nearly full, memory to spare."""
        return not host_problems(self, several_hosts=False)


@dataclass
class Alert:
    name: str
    severity: str
    instance: str
    summary: str
    since: str


@dataclass
class Target:
    job: str
    instance: str
    up: bool


@dataclass
class SiteStatus:
    server_name: str
    collected_at: float
    hosts: list[HostStatus]
    monitoring: bool  # the site has a monitoring host
    monitoring_error: str = ""
    targets: list[Target] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    synapse: dict[str, float | None] = field(default_factory=dict)
    cert_expires_at: float | None = None
    last_backup_at: float | None = None
    # Per remote server: last successful outgoing/incoming transaction (wmx.status.federation).
    federation: list[RemoteServer] = field(default_factory=list)
    federation_error: str = ""

    @property
    def cert_days_left(self) -> float | None:
        if self.cert_expires_at is None:
            return None
        return (self.cert_expires_at - self.collected_at) / 86400

    @property
    def problems(self) -> list[str]:
        """What needs attention, one line each naming what to do (wmx.status.problems)."""
        return site_problems(self)

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def backup_failed_on(self) -> list[str]:
        """Hosts whose last backup run failed (the job's wmx_backup_last_run_success)."""
        return [h.name for h in self.hosts if h.backup.get("wmx_backup_last_run_success") == 0]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["healthy"] = self.healthy
        data["problems"] = self.problems
        data["cert_days_left"] = (
            None if self.cert_days_left is None else round(self.cert_days_left, 2)
        )
        for host, raw in zip(self.hosts, data["hosts"], strict=True):
            raw["healthy"] = host.healthy
        return data


# What needs attention, one line per problem, each naming what to do next: the lines
# `wmx status` shows under its verdict (`problems` in JSON). A stopped or crashing service
# names `wmx logs` with the name status shows for it and the way back (`wmx deploy` starts
# what is stopped and puts back configuration edited by hand on the host), and the host
# when the site has several.

DISK_FULL = 0.90  # used share of a filesystem that needs attention (wmx doctor's too)
MEMORY_LOW = 0.10  # available share of memory that needs attention (wmx doctor's too)
CERT_DAYS = 14  # a certificate closer than this to its expiry needs attention
# Monitoring or federation state not asked for: its host is unreachable, and that host's
# own problem line already says so (one cause, one line).
NOT_ASKED = "not asked: "


def _gib(value: float) -> str:
    return f"{value / (1 << 30):.1f} GiB"


def crashing(service: ServiceStatus) -> bool:
    """Failed, or systemd waiting to start it again after it exited (a crash loop)."""
    return service.state == "failed" or service.sub_state == "auto-restart"


def service_problem(host: HostStatus, service: ServiceStatus, several_hosts: bool) -> str:
    where = f" --host {host.name}" if several_hosts else ""
    logs = f"`wmx logs {service.name}{where}`"
    what = f"{service.name} ({service.unit}) on {host.name}"
    if service.state == "not-installed":
        return f"{what} is not installed: `wmx deploy --full` installs and starts it"
    if crashing(service):
        state = "keeps crashing" if service.sub_state == "auto-restart" else "has failed"
        return (
            f"{what} {state}: {logs} says why; `wmx deploy` puts back the configuration "
            "wmx manages, undoing hand edits, and starts it"
        )
    if service.state in ("activating", "reloading", "deactivating"):
        return f"{what} is {service.state} ({service.sub_state}): look again soon, or {logs}"
    return (
        f"{what} is {service.state} ({service.sub_state}): `wmx deploy` starts it; "
        f"{logs} says why it stopped"
    )


def host_problems(host: HostStatus, several_hosts: bool) -> list[str]:
    if not host.reachable:
        return [host.error or f"{host.name}: not reachable over SSH"]
    found = [service_problem(host, s, several_hosts) for s in host.services if s.state != "active"]
    for disk in host.disks:
        if disk.used_ratio >= DISK_FULL:
            found.append(
                f"disk {disk.path} on {host.name} is {disk.used_ratio:.0%} full "
                f"({_gib(disk.size_bytes - disk.used_bytes)} free): free space "
                "(`wmx media delete --before 90d`, `journalctl --vacuum-size=200M` on the host) "
                "or grow it; PostgreSQL and Synapse stop when it is full"
            )
    ratio = host.memory_available_ratio
    if ratio is not None and ratio < MEMORY_LOW:
        found.append(
            f"memory on {host.name}: {ratio:.0%} available: `wmx status` shows what runs "
            "there; give the host more memory, or lower memory_mb in the inventory and deploy"
        )
    return found


def site_problems(status: SiteStatus) -> list[str]:
    """Every problem of `status`, hosts first, one line each with what to do."""
    several = len(status.hosts) > 1
    found = [line for host in status.hosts for line in host_problems(host, several)]
    days = status.cert_days_left
    if days is not None and days < CERT_DAYS:
        found.append(
            f"the certificate expires in {days:.0f} days: `wmx logs certbot` says why it is "
            "not renewed; `wmx doctor` checks the names it needs"
        )
    for name in status.backup_failed_on:
        found.append(f"the last backup run failed on {name}: `wmx backup list` says why")
    # Prometheus or Alertmanager not answering because its service is down: that
    # service's line above says so (one cause, one line).
    down = {s.name for h in status.hosts for s in h.services if s.state != "active"}
    error = status.monitoring_error
    if (
        error
        and not error.startswith(NOT_ASKED)
        and not any(f"`wmx logs {n}`" in error for n in down)
    ):
        found.append(error)
    for target in status.targets:
        if not target.up:
            found.append(
                f"Prometheus cannot scrape {target.job} on {target.instance}: "
                "`wmx status` above shows whether its service runs"
            )
    for alert in status.alerts:
        summary = f": {alert.summary}" if alert.summary else ""
        found.append(
            f"alert {alert.name} ({alert.severity or 'no severity'}) on {alert.instance}"
            f"{summary} (docs/monitoring.md: what to do)"
        )
    if status.federation_error and not status.federation_error.startswith(NOT_ASKED):
        found.append(status.federation_error)
    return found


def host_status(site: Site, host: HostView) -> HostStatus:
    status = HostStatus(host.name, host.address, list(components_of(site, host)), reachable=False)
    try:
        data = probe_host(host, services_of(site, host)).data
    except WmxError as exc:
        status.error = str(exc)
        return status
    status.reachable = True
    status.uptime_seconds = data.get("uptime_seconds")
    status.services = [
        ServiceStatus(
            name=u["name"],
            unit=u["unit"],
            state=u["state"] if u["loaded"] else "not-installed",
            sub_state=u["sub_state"],
            version=u["version"],
            uptime_seconds=u["since_seconds"],
        )
        for u in data.get("units", [])
    ]
    status.disks = [DiskStatus(**d) for d in data.get("disks", [])]
    memory = data.get("memory") or {}
    if memory.get("MemTotal"):
        status.memory_available_ratio = round(memory["MemAvailable"] / memory["MemTotal"], 4)
    status.cert_expires_at = data.get("cert_not_after")
    status.backup = dict(data.get("backup") or {})
    return status


@contextmanager
def _monitoring_urls(site: Site, host: HostView) -> Iterator[tuple[str, str, httpx.Auth | None]]:
    """Prometheus' and Alertmanager's URLs through SSH tunnels to the monitoring host."""
    auth: httpx.Auth | None = None
    if site.config.monitoring.remote_scrape.allow:
        # Prometheus then asks everyone for the password, its own host included.
        auth = httpx.BasicAuth(
            site.config.monitoring.remote_scrape.user, site.secrets.prometheus_remote_password
        )
    with ExitStack() as stack:
        prometheus = stack.enter_context(port_tunnel(host, PROMETHEUS_PORT))
        alertmanager = stack.enter_context(port_tunnel(host, ALERTMANAGER_PORT))
        yield prometheus, alertmanager, auth


def _scalar(client: httpx.Client, base: str, query: str) -> float | None:
    response = client.get(f"{base}/api/v1/query", params={"query": query})
    response.raise_for_status()
    result = response.json()["data"]["result"]
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if value != value else value  # NaN: no data (no traffic yet)


class _Unanswered(WmxError):
    """Prometheus or Alertmanager did not answer through its tunnel: the line says which."""


def _asking(what: str, service: str, host: HostView, ask: Callable[[], None]) -> None:
    """Run `ask`; an HTTP failure or an answer of the wrong shape becomes one line naming
    the service that did not answer and where its journal is."""
    try:
        ask()
    except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
        cause = str(exc) or exc.__class__.__name__
        raise _Unanswered(
            f"{what} on {host.name} did not answer ({cause}): `wmx logs {service}` says why; "
            "`wmx deploy` starts it"
        ) from None


def _prometheus(client: httpx.Client, base: str, status: SiteStatus) -> None:
    response = client.get(f"{base}/api/v1/query", params={"query": "up"})
    response.raise_for_status()
    for item in response.json()["data"]["result"]:
        labels = item["metric"]
        status.targets.append(
            Target(
                job=labels.get("job", ""),
                instance=labels.get("instance", ""),
                up=item["value"][1] == "1",
            )
        )
    status.targets.sort(key=lambda t: (t.job, t.instance))
    status.synapse = {k: _scalar(client, base, q) for k, q in SYNAPSE_QUERIES.items()}
    if status.cert_expires_at is None:
        status.cert_expires_at = _scalar(client, base, CERT_QUERY)


def _alertmanager(client: httpx.Client, base: str, status: SiteStatus) -> None:
    alerts = client.get(
        f"{base}/api/v2/alerts",
        params={"active": "true", "silenced": "false", "inhibited": "false"},
        auth=None,
    )
    alerts.raise_for_status()
    for alert in alerts.json():
        labels, annotations = alert.get("labels", {}), alert.get("annotations", {})
        status.alerts.append(
            Alert(
                name=labels.get("alertname", ""),
                severity=labels.get("severity", ""),
                instance=labels.get("instance", ""),
                summary=annotations.get("summary", ""),
                since=alert.get("startsAt", ""),
            )
        )
    status.alerts.sort(key=lambda a: (a.severity != "critical", a.name, a.instance))


def _monitoring(site: Site, status: SiteStatus, host: HostView) -> None:
    with (
        _monitoring_urls(site, host) as (prometheus, alertmanager, auth),
        httpx.Client(timeout=15, auth=auth) as client,
    ):
        _asking("Prometheus", "prometheus", host, lambda: _prometheus(client, prometheus, status))
        _asking(
            "Alertmanager",
            "alertmanager",
            host,
            lambda: _alertmanager(client, alertmanager, status),
        )


def collect_status(site: Site) -> SiteStatus:
    hosts = list(site.topology.hosts)
    with ThreadPoolExecutor(max_workers=min(8, len(hosts))) as pool:
        host_states = list(pool.map(lambda h: host_status(site, h), hosts))
    monitor = site.topology.monitoring_host
    status = SiteStatus(
        server_name=site.config.server_name,
        collected_at=time.time(),
        hosts=host_states,
        monitoring=monitor is not None,
    )
    # The certificate on the proxy's disk is the truth; the probe's view is the fallback.
    status.cert_expires_at = next(
        (h.cert_expires_at for h in host_states if h.cert_expires_at is not None), None
    )
    stamps = [
        h.backup["wmx_backup_last_success_timestamp_seconds"]
        for h in host_states
        if "wmx_backup_last_success_timestamp_seconds" in h.backup
    ]
    status.last_backup_at = max(stamps) if stamps else None
    # What lives on a host SSH does not reach is not asked for: its host's line says it.
    unreached = {h.name for h in host_states if not h.reachable}
    database = site.topology.the("database")
    if site.config.homeserver.federation and database.name in unreached:
        status.federation_error = f"{NOT_ASKED}{database.name} cannot be reached over SSH"
    elif site.config.homeserver.federation:
        try:
            status.federation = federation_remotes(database)
        except (WmxError, OSError, subprocess.SubprocessError) as exc:
            status.federation_error = str(exc)
    if monitor is not None and monitor.name in unreached:
        status.monitoring_error = f"{NOT_ASKED}{monitor.name} cannot be reached over SSH"
    elif monitor is not None:
        try:
            _monitoring(site, status, monitor)
        except _Unanswered as exc:
            status.monitoring_error = str(exc)
        except WmxError as exc:  # the SSH tunnels
            status.monitoring_error = f"Prometheus/Alertmanager on {monitor.name}: {exc}"
    return status
