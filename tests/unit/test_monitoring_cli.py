"""`wmx monitoring grafana|smtp-password`, `wmx logs` and the status screen, without hosts."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from tests.unit.test_monitoring_rules import FOUR_HOSTS, ONE_HOST, files_of, make_site
from wmx.cli import app
from wmx.errors import InputError
from wmx.grafana import DASHBOARDS, DATASOURCE_UID
from wmx.ops.logs import find_service, journal_argv
from wmx.site import load_site
from wmx.status.collect import (
    SYNAPSE_QUERIES,
    Alert,
    DiskStatus,
    HostStatus,
    ServiceStatus,
    SiteStatus,
    Target,
)
from wmx.status.present import render_status

runner = CliRunner()

# Metrics the exporters publish (Debian 12's node 1.5, postgres 0.11, nginx 0.11,
# blackbox 0.23), Synapse and the backup job, as the dashboards use them. The names in
# wmx's rules join these below.
EXPORTED = {
    "up", "ALERTS",
    "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
    "node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_load1",
    "node_network_receive_bytes_total",
    "pg_up", "pg_stat_activity_count", "pg_settings_max_connections",
    "pg_stat_database_xact_commit", "pg_stat_database_xact_rollback",
    "pg_stat_database_blks_hit", "pg_stat_database_blks_read", "pg_stat_database_deadlocks",
    "nginx_http_requests_total",
    "probe_success", "probe_duration_seconds", "probe_ssl_earliest_cert_expiry",
    "synapse_admin_daily_active_users", "synapse_http_server_response_time_seconds_count",
    "synapse_event_processing_lag",
    "wmx_backup_last_success_timestamp_seconds",
}  # fmt: skip
_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "inf", "nan",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, labels or keywords)."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):
            continue  # a function or aggregation
        if match.group().lower() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def test_metric_names_reads_promql_as_expected() -> None:
    assert metric_names(
        'histogram_quantile(0.99, sum by (instance, le) (rate(x_bucket{a="b"}[5m]))) > 0.5'
    ) == {"x_bucket"}
    assert metric_names("a - on (instance) group_right () max by (i, n) (b)") == {"a", "b"}


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    result = runner.invoke(app, ["init", str(root), "--defaults", "--server-name", "example.test"])
    assert result.exit_code == 0, result.output
    return root


def _rule_metrics(tmp_path: Path) -> set[str]:
    (tmp_path / "rules").mkdir()
    rules = yaml.safe_load(
        files_of(make_site(tmp_path / "rules", ONE_HOST), "hs1")[
            "/etc/prometheus/rules/wmx.yml"
        ].content
    )
    names: set[str] = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            names |= metric_names(rule["expr"])
            if "record" in rule:
                names.add(rule["record"])
    return names


def test_grafana_provisioning_is_valid_and_reads_only_known_metrics(
    site_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "grafana"
    result = runner.invoke(app, ["--site", str(site_dir), "monitoring", "grafana", str(out)])
    assert result.exit_code == 0, result.output
    datasources = yaml.safe_load((out / "provisioning/datasources/wmx.yaml").read_text())
    (source,) = datasources["datasources"]
    assert (source["type"], source["uid"]) == ("prometheus", DATASOURCE_UID)
    assert source["url"] == "http://203.0.113.10:9090"
    providers = yaml.safe_load((out / "provisioning/dashboards/wmx.yaml").read_text())
    assert providers["providers"][0]["options"]["path"] == str((out / "dashboards").resolve())
    known = EXPORTED | _rule_metrics(tmp_path)
    dashboards = sorted((out / "dashboards").glob("*.json"))
    assert [p.stem for p in dashboards] == sorted(d.uid for d in DASHBOARDS)
    titles = set()
    for path in dashboards:
        board = json.loads(path.read_text())
        assert board["uid"] == path.stem and board["title"] and board["schemaVersion"] >= 36
        titles.add(board["title"])
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for panel in board["panels"]:
            assert panel["type"] in {"timeseries", "stat"}
            assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == DATASOURCE_UID
                unknown = metric_names(target["expr"]) - known
                assert not unknown, f"{path.name}: {panel['title']} reads unknown {unknown}"
    assert len(titles) == 4


def test_grafana_datasource_takes_the_password_from_the_environment(
    site_dir: Path, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        ["--site", str(site_dir), "config", "set", "monitoring.remote_scrape.allow", "[192.0.2.9]"],
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "grafana"
    result = runner.invoke(app, ["--site", str(site_dir), "monitoring", "grafana", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "provisioning/datasources/wmx.yaml").read_text()
    source = yaml.safe_load(text)["datasources"][0]
    assert source["basicAuth"] is True and source["basicAuthUser"] == "wmx-remote"
    assert source["secureJsonData"] == {"basicAuthPassword": "$WMX_PROMETHEUS_PASSWORD"}
    password = load_site(site_dir).secrets.prometheus_remote_password
    assert password not in text and password not in result.output


def test_grafana_names_a_directory_with_an_escape_as_text(site_dir: Path, tmp_path: Path) -> None:
    """A directory name holding an escape sequence is printed quoted, not run by the
    terminal (hostile2 saw it raw on stdout)."""
    out = tmp_path / "graf\x1b[2Jana"
    result = runner.invoke(app, ["--site", str(site_dir), "monitoring", "grafana", str(out)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\\x1b[2Jana" in result.stdout


def test_smtp_password_is_stored_from_stdin_and_never_printed(site_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["--site", str(site_dir), "monitoring", "smtp-password", "--stdin"],
        input="relay-secret-123\n",
    )
    assert result.exit_code == 0, result.output
    assert "relay-secret-123" not in result.output
    site = load_site(site_dir)
    assert site.secrets.alert_smtp_password == "relay-secret-123"
    assert (site_dir / "secrets.yml").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("monitoring.alert_emails", "[nobody]", "'nobody' is not an e-mail address"),
        ("monitoring.alert_emails", "[ops@example.test]", "needs monitoring.smtp.smarthost"),
        ("monitoring.webhook_url", "ftp://x", "is not an http:// or https:// URL"),
        ("monitoring.remote_scrape.allow", "[prometheus.example]", "not an IP address"),
        ("monitoring.scrape_interval", "1", "greater than or equal to 5"),
        ("monitoring.smtp.smarthost", "smtp.example.test", "is not host:port"),
    ],
)
def test_bad_monitoring_settings_are_refused(
    site_dir: Path, key: str, value: str, message: str
) -> None:
    before = (site_dir / "wmx.yaml").read_text()
    result = runner.invoke(app, ["--site", str(site_dir), "config", "set", key, value])
    assert result.exit_code == 2
    assert message in result.output
    assert (site_dir / "wmx.yaml").read_text() == before


def test_logs_finds_the_host_and_unit_of_a_service(site_dir: Path) -> None:
    site = load_site(site_dir)
    host, service = find_service(site, "synapse", None)
    assert (host.name, service.unit) == ("matrix", "matrix-synapse.service")
    _, alertmanager = find_service(site, "prometheus-alertmanager", "matrix")
    assert alertmanager.name == "alertmanager"
    argv = journal_argv(host, service, "1 hour ago", True, None)
    assert argv[:1] == ["ssh"] and argv[-2] == "--"
    assert argv[-1] == (
        "journalctl --no-pager --output=short-iso --unit matrix-synapse.service "
        "--since '1 hour ago' --follow"
    )
    with pytest.raises(InputError, match="no service synaps;"):
        find_service(site, "synaps", None)
    with pytest.raises(InputError, match="no such host"):
        find_service(site, "synapse", "elsewhere")


def test_logs_lines_count_with_since_too(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`wmx logs synapse --since '2 min ago' -n 3` printed every entry since then (66 on
    the demo site): -n was dropped whenever --since was given. Now the newest 3 of those;
    --since alone still prints them all, and neither prints the newest 100."""
    from wmx.ops import logs

    site = load_site(site_dir)
    host, service = find_service(site, "synapse", None)
    tail = "journalctl --no-pager --output=short-iso --unit matrix-synapse.service"
    assert journal_argv(host, service, "2 min ago", False, 3)[-1] == (
        f"{tail} --since '2 min ago' --lines 3"
    )
    assert (
        journal_argv(host, service, "2 min ago", False, None)[-1] == f"{tail} --since '2 min ago'"
    )
    assert journal_argv(host, service, None, False, None)[-1] == f"{tail} --lines 100"
    given: list[int | None] = []

    def journal(*args: Any) -> int:
        given.append(args[-1])
        return 0

    monkeypatch.setattr(logs, "print_journal", journal)
    for extra in ([], ["-n", "3"]):
        argv = ["--site", str(site_dir), "logs", "synapse", "--since", "2 min ago", *extra]
        assert runner.invoke(app, argv).exit_code == 0
    assert given == [None, 3]


def test_logs_refuses_an_unknown_service_on_the_command_line(site_dir: Path) -> None:
    result = runner.invoke(app, ["--site", str(site_dir), "logs", "postgres-15"])
    assert result.exit_code == 2
    assert "services of this site:" in result.output and "synapse" in result.output


def test_logs_names_the_services_this_site_runs(site_dir: Path) -> None:
    """`wmx logs nosuch` listed every service wmx knows, redis and synapse-workers too on a
    site without workers; a service of a component the site has off said only 'no
    service'. Now the list is the site's (or the host's), and each case says why."""
    site = load_site(site_dir)
    with pytest.raises(InputError) as unknown:
        find_service(site, "nosuch", None)
    assert str(unknown.value).startswith("no service nosuch; services of this site: ")
    assert "synapse" in str(unknown.value) and "redis" not in str(unknown.value)
    with pytest.raises(InputError, match=r"^redis does not run on this site \(its component"):
        find_service(site, "redis", None)
    with pytest.raises(InputError, match=r"^synapse-workers does not run on this site"):
        find_service(site, "synapse-workers", None)


def test_logs_says_where_a_service_runs_when_another_host_is_given(tmp_path: Path) -> None:
    site = make_site(tmp_path, FOUR_HOSTS)
    with pytest.raises(InputError) as wrong_host:
        find_service(site, "postgresql", "hs1")
    said = str(wrong_host.value)
    assert said.startswith("postgresql does not run on hs1 but on db1; services on hs1: ")
    assert "synapse" in said and "postgresql," not in said


def _status(alerts: list[Alert]) -> SiteStatus:
    now = time.time()
    host = HostStatus(
        "matrix",
        "10.0.0.1",
        ["base", "synapse"],
        reachable=True,
        uptime_seconds=86400,
        services=[
            ServiceStatus("synapse", "matrix-synapse.service", "active", "running", "1.2.3", 60),
            ServiceStatus("nginx", "nginx.service", "failed", "failed", "1.22", None),
        ],
        disks=[DiskStatus("/", 100 * 2**30, 95 * 2**30, 0.95)],
        memory_available_ratio=0.5,
    )
    down = HostStatus("db1", "10.0.0.2", ["base"], reachable=False, error="db1: no route")
    return SiteStatus(
        server_name="example.test",
        collected_at=now,
        hosts=[host, down],
        monitoring=True,
        targets=[Target("master", "matrix", True), Target("node", "db1", False)],
        alerts=alerts,
        synapse=dict.fromkeys(SYNAPSE_QUERIES, None) | {"daily_active_users": 3.0},
        cert_expires_at=now + 10 * 86400,
        last_backup_at=None,
    )


def test_status_screen_shows_what_needs_attention() -> None:
    alert = Alert("WmxTargetDown", "critical", "db1", "node on db1 is down", "2026-01-01T00:00")
    status = _status([alert])
    console = Console(record=True, width=160)
    console.print(render_status(status))
    text = console.export_text()
    for expected in (
        "needs attention", "matrix-synapse.service", "1.2.3", "failed", "95%", "db1: no route",
        "expires in 10 days", "last backup", "never", "1/2 up", "node@db1", "WmxTargetDown",
        "daily active users", "no data",
    ):  # fmt: skip
        assert expected in text, expected
    data = status.to_dict()
    assert data["healthy"] is False and data["hosts"][0]["healthy"] is False
    assert data["cert_days_left"] == pytest.approx(10, abs=0.01)
    json.dumps(data)
