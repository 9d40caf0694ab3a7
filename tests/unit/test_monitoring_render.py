"""Where monitoring lands and what it scrapes, on one host and on four (rendered files)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.unit.test_monitoring_rules import (
    FOUR_HOSTS,
    MAIL_AND_WEBHOOK,
    ONE_HOST,
    SECRETS,
    files_of,
    make_site,
)
from wmx.components import components_of
from wmx.render import render_site
from wmx.render.role_vars import role_vars
from wmx.site.topology import HostView


def _accepted(nft: str) -> tuple[set[int], set[tuple[str, int]]]:
    public = {int(p) for p in re.findall(r"^\s*tcp dport (\d+) accept$", nft, re.M)}
    restricted = {
        (a, int(p))
        for a, p in re.findall(r"^\s*ip6? saddr (\S+) tcp dport (\d+) accept$", nft, re.M)
    }
    return public, restricted


def _targets(prometheus_yml: str) -> dict[str, list[tuple[str, str]]]:
    """job → [(instance, address)] of prometheus.yml's static targets."""
    config = yaml.safe_load(prometheus_yml)
    found: dict[str, list[tuple[str, str]]] = {}
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            for address in static["targets"]:
                found.setdefault(job["job_name"], []).append(
                    (static["labels"].get("instance", address), address)
                )
    return found


def test_one_host_scrapes_everything_on_loopback(tmp_path: Path) -> None:
    files = files_of(make_site(tmp_path, ONE_HOST), "hs1")
    targets = _targets(files["/etc/prometheus/prometheus.yml"].content)
    assert targets["node"] == [("hs1", "127.0.0.1:9100")]
    assert targets["postgres"] == [("hs1", "127.0.0.1:9187")]
    assert targets["nginx"] == [("hs1", "127.0.0.1:9113")]
    assert targets["synapse"] == [("hs1", "127.0.0.1:9000")]
    assert {a for _, a in targets["prometheus"] + targets["alertmanager"]} == {
        "127.0.0.1:9090",
        "127.0.0.1:9093",
    }
    # Nothing of it opens a port: the firewall is the core's.
    assert _accepted(files["/etc/nftables.conf"].content) == ({22, 80, 443}, set())
    for name in ("node", "postgres", "nginx"):
        args = files[f"/etc/default/prometheus-{name}-exporter"].content
        assert "listen-address=127.0.0.1:" in args
    assert "--web.listen-address=127.0.0.1:9090" in files["/etc/default/prometheus"].content
    alertmanager = files["/etc/default/prometheus-alertmanager"].content
    assert "--web.listen-address=127.0.0.1:9093" in alertmanager
    assert '--cluster.listen-address="' in alertmanager  # no gossip port


def test_synapse_is_labelled_for_workers(tmp_path: Path) -> None:
    files = files_of(make_site(tmp_path, ONE_HOST), "hs1")
    config = yaml.safe_load(files["/etc/prometheus/prometheus.yml"].content)
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "synapse")
    assert job["metrics_path"] == "/_synapse/metrics"
    assert job["static_configs"][0]["labels"] == {"instance": "hs1", "job": "master", "index": "1"}


def test_public_endpoints_are_probed_by_their_public_names(tmp_path: Path) -> None:
    files = files_of(make_site(tmp_path, ONE_HOST), "hs1")
    probes = {a for _, a in _targets(files["/etc/prometheus/prometheus.yml"].content)["probe"]}
    assert probes == {
        "https://matrix.example.test/_matrix/client/versions",
        "https://matrix.example.test/_matrix/federation/v1/version",
        "https://matrix.example.test/_matrix/key/v2/server",
        "https://example.test/.well-known/matrix/server",
        "https://example.test/.well-known/matrix/client",
    }
    blackbox = yaml.safe_load(files["/etc/prometheus/blackbox.yml"].content)
    assert blackbox["modules"]["wmx_https"]["http"]["tls_config"]["insecure_skip_verify"] is False


def test_four_hosts_scrape_over_the_network_through_the_firewall(tmp_path: Path) -> None:
    site = make_site(tmp_path, FOUR_HOSTS)
    rendered = {h: {f.dest: f for f in fs} for h, fs in render_site(site).items()}
    targets = _targets(rendered["mon1"]["/etc/prometheus/prometheus.yml"].content)
    assert targets["node"] == [
        ("db1", "10.0.0.11:9100"),
        ("hs1", "10.0.0.12:9100"),
        ("mon1", "127.0.0.1:9100"),
        ("proxy1", "10.0.0.13:9100"),
    ]
    assert targets["postgres"] == [("db1", "10.0.0.11:9187")]
    assert targets["nginx"] == [("proxy1", "10.0.0.13:9113")]
    assert targets["synapse"] == [("hs1", "10.0.0.12:9000")]
    # Each exporter port opens to the monitoring host only.
    mon = "10.0.0.14"
    assert _accepted(rendered["db1"]["/etc/nftables.conf"].content) == (
        {22},
        {("10.0.0.12", 5432), (mon, 9100), (mon, 9187)},
    )
    assert _accepted(rendered["hs1"]["/etc/nftables.conf"].content) == (
        {22},
        {("10.0.0.13", 8008), (mon, 9100), (mon, 9000)},
    )
    assert _accepted(rendered["proxy1"]["/etc/nftables.conf"].content) == (
        {22, 80, 443},
        {(mon, 9100), (mon, 9113)},
    )
    assert _accepted(rendered["mon1"]["/etc/nftables.conf"].content) == ({22}, set())
    # Exporters listen on their host's address; Synapse's metrics also on loopback.
    assert "listen-address=10.0.0.11:9187" in (
        rendered["db1"]["/etc/default/prometheus-postgres-exporter"].content
    )
    synapse = yaml.safe_load(rendered["hs1"]["/etc/matrix-synapse/homeserver.yaml"].content)
    metrics = next(x for x in synapse["listeners"] if x["type"] == "metrics")
    assert metrics["bind_addresses"] == ["127.0.0.1", "10.0.0.12"]


def test_exporter_files_follow_the_hosts_groups(tmp_path: Path) -> None:
    site = make_site(tmp_path, FOUR_HOSTS)
    exporters = {
        host: sorted(f.dest for f in files if f.component == "exporters")
        for host, files in render_site(site).items()
    }
    assert exporters == {
        "db1": [
            "/etc/default/prometheus-node-exporter",
            "/etc/default/prometheus-postgres-exporter",
        ],
        "hs1": ["/etc/default/prometheus-node-exporter"],
        "proxy1": [
            "/etc/default/prometheus-nginx-exporter",
            "/etc/default/prometheus-node-exporter",
            "/etc/nginx/conf.d/wmx-status.conf",
            "/etc/systemd/system/prometheus-nginx-exporter.service.d/wmx.conf",
        ],
        "mon1": ["/etc/default/prometheus-node-exporter"],
    }
    monitoring_hosts = {
        host
        for host, files in render_site(site).items()
        if any(f.component == "monitoring" for f in files)
    }
    assert monitoring_hosts == {"mon1"}


def test_role_vars_name_the_exporters_and_where_they_listen(tmp_path: Path) -> None:
    site = make_site(tmp_path, FOUR_HOSTS)
    by_name = {h.name: h for h in site.topology.hosts}
    db = role_vars(site, site.topology, by_name["db1"])
    assert db["exporters_jobs"] == ["node", "postgres"]
    assert db["exporters_endpoints"] == {"node": "10.0.0.11:9100", "postgres": "10.0.0.11:9187"}
    mon = role_vars(site, site.topology, by_name["mon1"])
    assert mon["exporters_endpoints"] == {"node": "127.0.0.1:9100"}
    assert mon["monitoring_remote_scrape"] is False
    assert "monitoring" in mon["wmx_components"] and "monitoring" not in db["wmx_components"]


def test_without_a_monitoring_host_nothing_is_monitored(tmp_path: Path) -> None:
    hosts = [HostView("hs1", "10.0.0.1", ("database", "homeserver", "proxy"))]
    site = make_site(tmp_path, hosts)
    (host,) = site.topology.hosts
    assert not {"exporters", "monitoring"} & set(components_of(site, host))
    files = files_of(site, "hs1")
    assert not [f for f in files.values() if f.component in {"exporters", "monitoring"}]
    synapse = yaml.safe_load(files["/etc/matrix-synapse/homeserver.yaml"].content)
    metrics = next(x for x in synapse["listeners"] if x["type"] == "metrics")
    assert metrics["bind_addresses"] == ["127.0.0.1"]


def test_monitoring_secrets_only_in_private_secret_files(tmp_path: Path) -> None:
    site = make_site(tmp_path, FOUR_HOSTS, MAIL_AND_WEBHOOK)
    values = [SECRETS.prometheus_remote_password, SECRETS.alert_smtp_password]
    for host, files in render_site(site).items():
        for item in files:
            if any(v in item.content for v in values):
                assert item.secret, f"{host}:{item.dest} holds a secret but is not marked secret"
                assert not int(item.mode, 8) & 0o007, f"{host}:{item.dest} is world-readable"
    for view in site.topology.hosts:
        text = str(role_vars(site, site.topology, view))
        assert not [v for v in values if v in text]
