"""Grafana provisioning for SREs who already run Grafana: a datasource and wmx's dashboards.

`wmx monitoring grafana DIR` writes:

    DIR/provisioning/datasources/wmx.yaml   the site's Prometheus
    DIR/provisioning/dashboards/wmx.yaml    a file provider for DIR/dashboards
    DIR/dashboards/wmx-*.json               overview, Synapse, PostgreSQL, host

The basic-auth password (remote scraping) is never written: the datasource reads it from
the environment variable WMX_PROMETHEUS_PASSWORD, which Grafana expands when it loads
provisioning files.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wmx.components.monitoring import prometheus_url
from wmx.errors import DISK_REFUSED, InputError, WmxError, WriteRefused
from wmx.site import Site
from wmx.site.given import given
from wmx.site.placed import check_file_place, make_directory, open_directory
from wmx.site.yamlfile import write_atomically

DATASOURCE_UID = "wmx-prometheus"
PASSWORD_VARIABLE = "WMX_PROMETHEUS_PASSWORD"
SCHEMA_VERSION = 39
PURPOSE = "cannot write Grafana's files there"


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    kind: str = "timeseries"  # or stat
    description: str = ""


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


def _p(
    title: str,
    *exprs: tuple[str, str],
    unit: str = "short",
    kind: str = "timeseries",
    about: str = "",
) -> Panel:
    return Panel(title, tuple(exprs), unit, kind, about)


SEND = 'servlet="RoomSendEventRestServlet"'
DASHBOARDS: tuple[Dashboard, ...] = (
    Dashboard(
        "wmx-overview",
        "wmx: service overview",
        "Is the Matrix service up and answering? Targets, public endpoints, alerts.",
        (
            _p("Scrape targets up", ("sum(up)", "up"), ("count(up)", "all"), kind="stat"),
            _p(
                "Firing alerts",
                ('count(ALERTS{alertstate="firing"}) or vector(0)', "firing"),
                kind="stat",
            ),
            _p(
                "Certificate expires in",
                ("min(probe_ssl_earliest_cert_expiry) - time()", "left"),
                unit="s",
                kind="stat",
                about="WmxCertificateExpiring fires under 14 days.",
            ),
            _p(
                "Public endpoints",
                ("probe_success", "{{endpoint}}"),
                about="WmxEndpointDown: 0 means the endpoint fails from the monitoring host.",
            ),
            _p("Endpoint latency", ("probe_duration_seconds", "{{endpoint}}"), unit="s"),
            _p(
                "Targets",
                ("up", "{{job}} {{instance}}"),
                about="WmxTargetDown fires when one stays 0.",
            ),
            _p(
                "Daily active users",
                ("sum(synapse_admin_daily_active_users)", "users"),
                kind="stat",
            ),
            _p(
                "Requests per second",
                ("sum by (instance) (rate(nginx_http_requests_total[5m]))", "nginx {{instance}}"),
                unit="reqps",
            ),
        ),
    ),
    Dashboard(
        "wmx-synapse",
        "wmx: Synapse internals",
        "One panel behind each Synapse alert of wmx.",
        (
            _p(
                "Reactor tick p99",
                (
                    "histogram_quantile(0.99, sum by (instance, job, index, le) "
                    "(rate(python_twisted_reactor_tick_time_bucket[5m])))",
                    "{{job}} {{index}}",
                ),
                unit="s",
                about="WmxSynapseReactorTickSlow above 0.5 s.",
            ),
            _p(
                "Event send p99",
                (
                    "histogram_quantile(0.99, sum by (instance, le) "
                    f"(rate(synapse_http_server_response_time_seconds_bucket{{{SEND}}}[5m])))",
                    "{{instance}}",
                ),
                unit="s",
                about="WmxSynapseEventSendSlow above 5 s.",
            ),
            _p(
                "Database connection wait p99",
                (
                    "histogram_quantile(0.99, sum by (instance, le) "
                    "(rate(synapse_storage_schedule_time_bucket[5m])))",
                    "{{instance}}",
                ),
                unit="s",
                about="WmxSynapseDatabaseWaitHigh above 0.5 s.",
            ),
            _p(
                "Federation inbound staging age",
                ("synapse_federation_server_oldest_inbound_pdu_in_staging / 1000", "{{instance}}"),
                unit="s",
                about="WmxFederationInboundStagingOld above 5 minutes.",
            ),
            _p(
                "Event processing: positions behind",
                ("wmx:synapse_event_processing_behind", "{{name}}"),
                about="WmxEventProcessingLagGrowing: above 100 and growing.",
            ),
            _p(
                "Event processing lag",
                ("synapse_event_processing_lag / 1000", "{{name}}"),
                unit="s",
            ),
            _p(
                "Rooms by forward extremities",
                (
                    'synapse_forward_extremities_bucket{le="+Inf"} - ignoring (le) '
                    'synapse_forward_extremities_bucket{le="10.0"}',
                    "more than 10",
                ),
                about="WmxForwardExtremitiesHigh above 0.",
            ),
            _p(
                "Requests by servlet",
                (
                    "topk(10, sum by (servlet) "
                    "(rate(synapse_http_server_response_time_seconds_count[5m])))",
                    "{{servlet}}",
                ),
                unit="reqps",
            ),
        ),
    ),
    Dashboard(
        "wmx-postgresql",
        "wmx: PostgreSQL",
        "The database behind Synapse, from the PostgreSQL exporter.",
        (
            _p("PostgreSQL up", ("pg_up", "{{instance}}"), kind="stat"),
            _p(
                "Connections by state",
                ("sum by (state) (pg_stat_activity_count)", "{{state}}"),
                about="Compare with max_connections (postgresql.max_connections).",
            ),
            _p("Max connections", ("pg_settings_max_connections", "max"), kind="stat"),
            _p(
                "Transactions per second",
                (
                    'sum(rate(pg_stat_database_xact_commit{datname="synapse"}[5m]))',
                    "commits",
                ),
                (
                    'sum(rate(pg_stat_database_xact_rollback{datname="synapse"}[5m]))',
                    "rollbacks",
                ),
                unit="ops",
            ),
            _p(
                "Cache hit ratio",
                (
                    'sum(rate(pg_stat_database_blks_hit{datname="synapse"}[5m])) / '
                    '(sum(rate(pg_stat_database_blks_hit{datname="synapse"}[5m])) + '
                    'sum(rate(pg_stat_database_blks_read{datname="synapse"}[5m])))',
                    "hit ratio",
                ),
                unit="percentunit",
            ),
            _p(
                "Deadlocks",
                ('rate(pg_stat_database_deadlocks{datname="synapse"}[5m])', "deadlocks"),
            ),
        ),
    ),
    Dashboard(
        "wmx-host",
        "wmx: hosts",
        "CPU, memory, disk and network of every wmx host, from node exporter.",
        (
            _p(
                "CPU busy",
                (
                    '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
                    "{{instance}}",
                ),
                unit="percentunit",
            ),
            _p(
                "Memory available",
                ("node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "{{instance}}"),
                unit="percentunit",
                about="WmxMemoryPressure below 10%.",
            ),
            _p(
                "Disk free",
                (
                    'node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs"} / '
                    "node_filesystem_size_bytes",
                    "{{instance}} {{mountpoint}}",
                ),
                unit="percentunit",
                about="WmxDiskFilling below 10% or full within a day.",
            ),
            _p("Load", ("node_load1", "{{instance}}")),
            _p(
                "Network received",
                (
                    'rate(node_network_receive_bytes_total{device!="lo"}[5m])',
                    "{{instance}} {{device}}",
                ),
                unit="Bps",
            ),
            _p(
                "Last backup age",
                ("time() - wmx_backup_last_success_timestamp_seconds", "{{instance}}"),
                unit="s",
                about="WmxBackupTooOld past wmx_backup_max_age_seconds.",
            ),
        ),
    ),
)


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    """A Grafana dashboard (schema 39) with the panels in a two-column grid."""
    panels: list[dict[str, Any]] = []
    for index, panel in enumerate(dashboard.panels):
        width, height = 12, 8
        panels.append(
            {
                "id": index + 1,
                "type": panel.kind,
                "title": panel.title,
                "description": panel.description,
                "datasource": {"type": "prometheus", "uid": DATASOURCE_UID},
                "gridPos": {
                    "h": height,
                    "w": width,
                    "x": (index % 2) * width,
                    "y": (index // 2) * height,
                },
                "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                "options": {},
                "targets": [
                    {
                        "refId": chr(ord("A") + n),
                        "datasource": {"type": "prometheus", "uid": DATASOURCE_UID},
                        "expr": expr,
                        "legendFormat": legend,
                    }
                    for n, (expr, legend) in enumerate(panel.exprs)
                ],
            }
        )
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["wmx", "matrix"],
        "timezone": "browser",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    }


def write_provisioning(site: Site, root: Path, url: str | None = None) -> list[Path]:
    """Write the datasource, the dashboard provider and the dashboards under `root`, each
    whole or not at all, and none through a symbolic link or into a FIFO or device planted
    there (`root` itself, the directories below it, the files: wmx.site.placed), nor
    through one put there after the look: each write opens the directories from `root`
    down without following a link (wmx.site.placed.open_directory)."""
    # Not resolved: DIR itself may not be a link (make_directory refuses one).
    root = Path(os.path.abspath(root))
    remote = site.config.monitoring.remote_scrape
    datasource: dict[str, Any] = {
        "name": f"wmx {site.config.server_name}",
        "uid": DATASOURCE_UID,
        "type": "prometheus",
        "access": "proxy",
        "url": url or prometheus_url(site),
        "isDefault": False,
        "editable": False,
        "jsonData": {"timeInterval": f"{site.config.monitoring.scrape_interval}s"},
    }
    if remote.allow:
        datasource["basicAuth"] = True
        datasource["basicAuthUser"] = remote.user
        # Grafana expands $VARIABLE in provisioning files: the secret stays out of them.
        datasource["secureJsonData"] = {"basicAuthPassword": f"${PASSWORD_VARIABLE}"}
    files: dict[Path, dict[str, Any]] = {
        root / "provisioning/datasources/wmx.yaml": {"apiVersion": 1, "datasources": [datasource]},
        root / "provisioning/dashboards/wmx.yaml": {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "wmx",
                    "folder": "wmx",
                    "type": "file",
                    "disableDeletion": False,
                    "allowUiUpdates": False,
                    "options": {"path": str(root / "dashboards")},
                }
            ],
        },
    }
    for dashboard in DASHBOARDS:
        files[root / "dashboards" / f"{dashboard.uid}.json"] = dashboard_json(dashboard)
    make_directory(root, PURPOSE, parents=True)
    for below in ("provisioning/datasources", "provisioning/dashboards", "dashboards"):
        # made from root down through no link, as each write goes there again
        os.close(open_directory(root / below, PURPOSE, within=root, make=0o755))
    for path in files:  # every place looked at before a file is written
        check_file_place(path, PURPOSE)
    existed = {path for path in files if path.exists()}
    written: list[Path] = []
    try:
        for path, document in files.items():
            # JSON is YAML too; Grafana reads either.
            text = json.dumps(document, indent=2) + "\n"
            write_atomically(path, text, follow_links=False, purpose=PURPOSE, within=root)
            written.append(path)
    except (OSError, WmxError):  # write_atomically says a disk's refusal as WriteRefused
        # A full disk halfway: no new provisioning file pointing at dashboards that were
        # never written (the files that were there before are whole, old or new).
        for path in written:
            if path not in existed:
                with contextlib.suppress(OSError):
                    path.unlink()
        raise
    return written


def provision(site: Site, root: Path, url: str | None = None) -> None:
    """`wmx monitoring grafana`: the files written, a line each, then what Grafana needs to
    reach the site's Prometheus (or why it cannot yet)."""
    from wmx.present import console, esc

    try:
        written = write_provisioning(site, root, url)
    except OSError as exc:  # DIR is a file, a device, a name too long, not writable
        where = given(exc.filename or root)
        if exc.errno in DISK_REFUSED:  # the disk's refusal, not a wrong DIR: exit 1
            raise WriteRefused(where, exc) from None
        raise InputError(f"{where}: cannot write Grafana's files ({exc.strerror or exc})") from None
    for path in written:
        console.print(f"wrote {esc(given(path))}")
    if site.config.monitoring.remote_scrape.allow:
        console.print(
            f"Grafana must run with {PASSWORD_VARIABLE} set to prometheus_remote_password "
            "from secrets.yml, and its address must be in monitoring.remote_scrape.allow."
        )
    else:
        console.print(
            "[yellow]monitoring.remote_scrape.allow is empty: Prometheus listens on its "
            "host's loopback only.[/] Add Grafana's address there and deploy, or pass "
            "--prometheus-url for a tunnel of your own."
        )
