"""Monitoring on a deployed lab host, checked as an operator would: Prometheus' targets,
an alert that reaches a webhook and resolves, `wmx status`, `wmx logs`, and nothing of
it reachable from outside the host.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.e2e.clients import wait_until
from tests.e2e.conftest import Deployed, wmx
from wmx.admin.tunnel import port_tunnel
from wmx.components.exporters import (
    NGINX_EXPORTER_PORT,
    NGINX_STATUS_PORT,
    NODE_EXPORTER_PORT,
    POSTGRES_EXPORTER_PORT,
)
from wmx.components.monitoring import ALERTMANAGER_PORT, BLACKBOX_PORT, PROMETHEUS_PORT
from wmx.components.synapse import SYNAPSE_METRICS_PORT
from wmx.lab.addressing import GATEWAY
from wmx.site import load_site
from wmx.status.services import services_of

# Jobs a one-host site scrapes (synapse's main process is labelled job="master").
EXPECTED_JOBS = {"prometheus", "alertmanager", "blackbox", "node", "postgres", "nginx", "master"}
# Metrics the dashboards read that exist on any running site (others need traffic,
# federation or a backup first).
ALWAYS_PRESENT = [
    "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_filesystem_avail_bytes",
    "node_load1", "node_network_receive_bytes_total",
    "pg_up", "pg_stat_activity_count", "pg_settings_max_connections",
    "pg_stat_database_xact_commit", "pg_stat_database_blks_hit",
    "nginx_http_requests_total",
    "probe_success", "probe_duration_seconds", "probe_ssl_earliest_cert_expiry",
    "python_twisted_reactor_tick_time_bucket", "synapse_storage_schedule_time_bucket",
    "synapse_http_server_response_time_seconds_count",
]  # fmt: skip


def _query(base: str, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=15)
    response.raise_for_status()
    return response.json()["data"]["result"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def prometheus(deployed: Deployed) -> Iterator[str]:
    monitor = deployed.site.topology.monitoring_host
    assert monitor is not None, "the default site has a monitoring host"
    with port_tunnel(monitor, PROMETHEUS_PORT) as base:
        yield base


def test_every_scrape_target_is_up(deployed: Deployed, prometheus: str) -> None:
    def all_up() -> bool:
        results = _query(prometheus, "up")
        jobs = {r["metric"]["job"] for r in results}
        return jobs >= EXPECTED_JOBS and all(r["value"][1] == "1" for r in results)

    wait_until(all_up, "every scrape target to be up", timeout=90)
    probes = _query(prometheus, "probe_success")
    endpoints = {r["metric"]["endpoint"]: r["value"][1] for r in probes}
    assert endpoints == dict.fromkeys(
        [
            "client_versions",
            "federation_version",
            "server_keys",
            "well_known_server",
            "well_known_client",
        ],
        "1",
    ), "a public endpoint fails from the monitoring host"
    expiry = _query(prometheus, "min(probe_ssl_earliest_cert_expiry) - time()")
    assert float(expiry[0]["value"][1]) > 14 * 86400


def test_alert_rules_are_loaded(prometheus: str) -> None:
    response = httpx.get(f"{prometheus}/api/v1/rules", timeout=15)
    groups = response.json()["data"]["groups"]
    alerts = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert {"WmxTargetDown", "WmxCertificateExpiring", "WmxBackupTooOld"} <= alerts
    assert all(r["health"] == "ok" for g in groups for r in g["rules"])


def test_dashboard_metrics_exist(prometheus: str) -> None:
    missing = [m for m in ALWAYS_PRESENT if not _query(prometheus, f"count({m})")]
    assert not missing, f"no series for {missing}"


def test_metrics_endpoints_are_unreachable_from_outside(deployed: Deployed) -> None:
    ports = (
        PROMETHEUS_PORT, ALERTMANAGER_PORT, BLACKBOX_PORT, NODE_EXPORTER_PORT,
        POSTGRES_EXPORTER_PORT, NGINX_EXPORTER_PORT, NGINX_STATUS_PORT, SYNAPSE_METRICS_PORT,
        9094,  # Alertmanager's cluster port: never opened
    )  # fmt: skip
    for port in ports:
        with socket.socket() as sock:
            sock.settimeout(3)
            assert sock.connect_ex((deployed.address, port)) != 0, f"port {port} is reachable"
    # On the host itself they answer, on loopback.
    paths = {
        PROMETHEUS_PORT: "/-/ready", ALERTMANAGER_PORT: "/-/ready", BLACKBOX_PORT: "/metrics",
        NODE_EXPORTER_PORT: "/metrics", POSTGRES_EXPORTER_PORT: "/metrics",
        NGINX_EXPORTER_PORT: "/metrics", NGINX_STATUS_PORT: "/stub_status",
        SYNAPSE_METRICS_PORT: "/_synapse/metrics",
    }  # fmt: skip
    for port, path in paths.items():
        answer = deployed.lab.run(
            deployed.host,
            ["curl", "-sSf", "-o", "/dev/null", f"http://127.0.0.1:{port}{path}"],
            check=False,
        )
        assert answer.returncode == 0, f"127.0.0.1:{port}{path} on the host: {answer.stderr}"


def test_status_reports_each_service_and_the_certificate(deployed: Deployed) -> None:
    result = wmx("status", "--output", "json", site=deployed.site.paths.root, check=False)
    assert result.returncode in (0, 1), result.stderr
    status = json.loads(result.stdout)
    (host,) = status["hosts"]
    assert host["reachable"], host["error"]
    homeserver = deployed.site.topology.the("homeserver")
    expected = {s.name for s in services_of(deployed.site, homeserver)}
    reported = {s["name"]: s for s in host["services"]}
    assert expected <= set(reported)
    for name in expected:
        assert reported[name]["state"] == "active", reported[name]
    assert reported["synapse"]["version"] == deployed.site.config.synapse.version
    assert reported["prometheus"]["version"] and reported["synapse"]["uptime_seconds"] >= 0
    assert status["cert_days_left"] > 14
    assert status["monitoring"] and not status["monitoring_error"]
    assert {t["job"] for t in status["targets"]} >= EXPECTED_JOBS
    assert any(d["path"] == "/" for d in host["disks"])
    assert set(status["synapse"]) >= {"daily_active_users", "event_send_p99_seconds"}


def test_logs_print_a_services_journal(deployed: Deployed) -> None:
    result = wmx("logs", "synapse", "--since", "-1d", site=deployed.site.paths.root)
    assert result.stdout.strip(), "empty journal"
    assert "synapse" in result.stdout.lower()


class _Webhook:
    """Alertmanager's webhook receiver, on the lab bridge address of this machine."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((str(GATEWAY), 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{GATEWAY}:{self.server.server_address[1]}/alerts"

    def saw(self, status: str, alertname: str) -> bool:
        return any(
            message["status"] == status
            and any(
                a["labels"].get("alertname") == alertname and a["status"] == status
                for a in message["alerts"]
            )
            for message in self.received
        )


def _silence_suppresses(deployed: Deployed, alertname: str) -> None:
    """An operator's silence (Alertmanager's API, as amtool uses it) suppresses the
    firing alert; expiring it makes the alert active again."""
    monitor = deployed.site.topology.monitoring_host
    assert monitor is not None
    with port_tunnel(monitor, ALERTMANAGER_PORT) as base, httpx.Client(timeout=15) as http:
        silence = {
            "matchers": [{"name": "alertname", "value": alertname, "isRegex": False}],
            "startsAt": "2000-01-01T00:00:00Z",
            "endsAt": "2100-01-01T00:00:00Z",
            "createdBy": "wmx e2e",
            "comment": "maintenance",
        }
        created = http.post(f"{base}/api/v2/silences", json=silence).raise_for_status()
        silence_id = created.json()["silenceID"]

        def state() -> set[str]:
            alerts = http.get(
                f"{base}/api/v2/alerts", params={"filter": f'alertname="{alertname}"'}
            ).raise_for_status()
            return {a["status"]["state"] for a in alerts.json()}

        wait_until(lambda: state() == {"suppressed"}, "the silence to suppress the alert", 60)
        http.delete(f"{base}/api/v2/silence/{silence_id}").raise_for_status()
        wait_until(lambda: state() == {"active"}, "the alert to be active again", 60)


def test_synapse_down_alert_reaches_the_webhook_and_resolves(deployed: Deployed) -> None:
    root = deployed.site.paths.root
    settings = {
        "monitoring.scrape_interval": "5",
        "monitoring.target_down_after": "10",
        "monitoring.group_interval": "10",
    }
    before = {key: wmx("config", "get", key, site=root).stdout.strip() for key in settings}
    before["monitoring.webhook_url"] = json.dumps(load_site(root).config.monitoring.webhook_url)
    hook = _Webhook()
    hook.thread.start()
    try:
        for key, value in {**settings, "monitoring.webhook_url": hook.url}.items():
            wmx("config", "set", key, value, site=root)
        wmx("deploy", "--only", "monitoring", site=root)
        deployed.lab.run(deployed.host, ["systemctl", "stop", "matrix-synapse"])
        wait_until(
            lambda: hook.saw("firing", "WmxTargetDown"), "the target-down alert", timeout=240
        )
        firing = [
            a
            for m in hook.received
            for a in m["alerts"]
            if a["labels"]["alertname"] == "WmxTargetDown" and a["status"] == "firing"
        ]
        assert firing[0]["labels"]["job"] == "master"
        assert firing[0]["annotations"]["summary"] == f"master on {deployed.host} is down"
        _silence_suppresses(deployed, "WmxTargetDown")
        deployed.lab.run(deployed.host, ["systemctl", "start", "matrix-synapse"])
        wait_until(
            lambda: hook.saw("resolved", "WmxTargetDown"), "the alert to resolve", timeout=240
        )
    finally:
        deployed.lab.run(deployed.host, ["systemctl", "start", "matrix-synapse"], check=False)
        for key, value in before.items():
            wmx("config", "set", key, value, site=root)
        wmx("deploy", "--only", "monitoring", site=root)
        hook.server.shutdown()
