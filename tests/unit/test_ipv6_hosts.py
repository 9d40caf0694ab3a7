"""A site of several hosts on IPv6 addresses (an IPv6-only private network): every file
that names another host's address names it in the form its reader takes. `[addr]:port`
in host:port and URLs (an unbracketed `fd00::11:9100` is another address, or none), the
bare address where the reader wants a host alone, `addr/128` in pg_hba.conf, `ip6 saddr`
in nftables, `\\:` in .pgpass. Before, the site was refused at load (886e6b1), and before
that rendered into services that could not start."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.render_sites import BASE_CONFIG, files_by_dest, make_site, synapse_config
from wmx.components.monitoring import prometheus_url
from wmx.render.role_vars import role_vars
from wmx.site import Site
from wmx.site.grammars import host_port, pgpass_field, url_host
from wmx.site.topology import HostView

DB, HS, PROXY, WK, BK, MON, TURN = (f"fd00::{n}" for n in range(11, 18))
# Every host on its own address, so that each consumer names another host's.
HOSTS = (
    HostView("db1", DB, ("database",), 4096),
    HostView("hs1", HS, ("homeserver", "irc_bridge"), 4096),
    HostView("proxy1", PROXY, ("proxy",), 2048),
    HostView("wk1", WK, ("synapse_workers",), 4096),
    HostView("bk1", BK, ("backup",), 2048, {"ansible_port": 2222}),
    HostView("mon1", MON, ("monitoring",), 2048),
    HostView("turn1", TURN, ("turn",), 2048),
)
CONFIG: dict[str, Any] = {
    **BASE_CONFIG,
    "synapse": {"workers": {"preset": "small"}},
    "turn": {"tls": False},
    "backup": {"enabled": True},
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory.mktemp("ipv6"), CONFIG, list(HOSTS))


def _text(site: Site, host: str, dest: str) -> str:
    content = files_by_dest(site, host)[dest].content
    assert isinstance(content, str)
    return content


def _vars(site: Site, name: str) -> dict[str, Any]:
    host = next(h for h in site.topology.hosts if h.name == name)
    return role_vars(site, site.topology, host)


def _args(text: str) -> list[str]:
    (line,) = (line for line in text.splitlines() if line.startswith("ARGS="))
    return shlex.split(line)[0].removeprefix("ARGS=").split()


def test_the_helpers() -> None:
    assert url_host("fd00::11") == "[fd00::11]"
    assert url_host("10.0.0.11") == "10.0.0.11"
    assert url_host("db1.example.net") == "db1.example.net"
    assert host_port("fd00::11", 9100) == "[fd00::11]:9100"
    assert host_port("10.0.0.11", 9100) == "10.0.0.11:9100"
    assert pgpass_field("fd00::11") == r"fd00\:\:11"
    assert pgpass_field("10.0.0.11") == "10.0.0.11"
    assert pgpass_field("a\\b") == "a\\\\b"


def test_the_site_loads_and_renders(site: Site) -> None:
    # The refusal at load is gone (wmx.site.checks): the site's checks pass.
    from wmx.site.checks import check_site

    check_site(site.config, site.topology)


def test_nginx_reaches_synapse_the_workers_and_the_bridge_bracketed(site: Site) -> None:
    conf = _text(site, "proxy1", "/etc/nginx/sites-available/wmx-tls.conf")
    servers = re.findall(r"^    server (\S+);$", conf, re.M)
    assert servers and all(
        s.startswith("[fd00::") and re.fullmatch(r"\[[0-9a-f:]+\]:\d+", s) for s in servers
    )
    assert f"    server [{WK}]:8101;" in conf.splitlines()
    assert f"        proxy_pass http://[{HS}]:8008;" in conf.splitlines()
    assert f"        proxy_pass http://[{HS}]:9898;" in conf.splitlines()
    assert not re.search(r"fd00::\d+:\d", conf)


def test_prometheus_targets_and_exporter_listen_addresses(site: Site) -> None:
    prometheus = yaml.safe_load(_text(site, "mon1", "/etc/prometheus/prometheus.yml"))
    targets = [
        t
        for job in prometheus["scrape_configs"]
        for group in job.get("static_configs", [])
        for t in group["targets"]
        if not t.startswith("https://")  # the blackbox probes' public URLs
    ]
    remote = [t for t in targets if t.startswith("[")]
    # node on all seven hosts but mon1, postgres, nginx, synapse and its five workers.
    assert len(remote) == 6 + 3 + 5
    assert f"[{DB}]:9100" in remote and f"[{DB}]:9187" in remote
    assert f"[{PROXY}]:9113" in remote and f"[{HS}]:9000" in remote
    assert f"[{WK}]:9301" in remote
    for t in targets:
        host, _, port = t.rpartition(":")
        assert port.isdigit() and ("::" not in host or host.startswith("[")), t
    node = _args(_text(site, "db1", "/etc/default/prometheus-node-exporter"))
    assert f"--web.listen-address=[{DB}]:9100" in node
    postgres = _args(_text(site, "db1", "/etc/default/prometheus-postgres-exporter"))
    assert postgres == [f"--web.listen-address=[{DB}]:9187"]
    nginx = _args(_text(site, "proxy1", "/etc/default/prometheus-nginx-exporter"))
    assert f"--web.listen-address=[{PROXY}]:9113" in nginx
    # The exporters role waits for the same endpoints (wmx_units takes [v6]:port).
    assert _vars(site, "db1")["exporters_endpoints"] == {
        "node": f"[{DB}]:9100",
        "postgres": f"[{DB}]:9187",
    }


def test_synapse_reaches_the_database_redis_replication_and_the_bridge(site: Site) -> None:
    for name, address in (("hs1", HS), ("wk1", WK)):
        config = synapse_config(files_by_dest(site, name))
        assert config["database"]["args"]["host"] == DB  # psycopg2's host=: bare
        assert config["redis"]["host"] == HS  # bare
        assert config["instance_map"]["main"] == {"host": HS, "port": 8009}  # bare
        binds = {lst["port"]: lst["bind_addresses"] for lst in config["listeners"]}
        # Synapse's HTTP and metrics listeners on the host's own address, the main
        # process's replication listener on the homeserver host's: bare.
        assert binds == {
            8008: ["127.0.0.1", address],
            9000: ["127.0.0.1", address],
            8009: ["127.0.0.1", HS],
        }
    registration = yaml.safe_load(
        _text(site, "hs1", "/etc/matrix-synapse/appservices/heisenbridge.yaml")
    )
    assert registration["url"] == f"http://[{HS}]:9898"
    assert _vars(site, "hs1")["irc_bridge_url"] == f"http://[{HS}]:9898"
    unit = _text(site, "hs1", "/etc/systemd/system/heisenbridge.service")
    assert f" -l {HS} -p 9898 " in unit
    redis = _text(site, "hs1", "/etc/redis/redis.conf")
    assert f"bind 127.0.0.1 {HS}" in redis.splitlines()
    instances = _vars(site, "wk1")["synapse_workers_instances"]
    for instance in instances:
        for listener in instance["config"]["worker_listeners"]:
            assert listener["bind_addresses"] in (["127.0.0.1"], ["127.0.0.1", WK])


def test_postgresql_admits_its_clients_as_128_networks(site: Site) -> None:
    hba = _text(site, "db1", "/etc/wmx/postgresql/pg_hba.conf")
    networks = re.findall(r"^hostssl\s+synapse\s+synapse\s+(\S+)\s+scram-sha-256$", hba, re.M)
    assert networks == [f"{HS}/128", f"{WK}/128"]
    conf = _text(site, "db1", "/etc/wmx/postgresql/postgresql.conf")
    assert f"listen_addresses = 'localhost, {DB}'" in conf.splitlines()


def test_the_backup_job_reaches_the_database_and_the_repository(site: Site) -> None:
    pgpass = _text(site, "hs1", "/etc/wmx/backup/pgpass")
    assert pgpass.splitlines()[-1] == (
        r"fd00\:\:11:5432:synapse:synapse:test-postgres-password-0000"
    )
    job = json.loads(_text(site, "hs1", "/etc/wmx/backup/job.json"))
    assert job["database"]["host"] == DB  # pg_dump's host: bare
    urls = [r["url"] for r in job["repositories"] if r["kind"] == "inventory"]
    assert urls == [f"ssh://borg@[{BK}]:2222/srv/wmx-backup/example.test"]
    (repo_host,) = _vars(site, "hs1")["backup_repository_hosts"]
    assert repo_host["address"] == BK and repo_host["known_hosts_name"] == f"[{BK}]:2222"


def test_the_repository_url_on_port_22_brackets_the_address(tmp_path: Path) -> None:
    hosts = [h if h.name != "bk1" else HostView("bk1", BK, ("backup",), 2048) for h in HOSTS]
    site = make_site(tmp_path, CONFIG, hosts)
    job = json.loads(_text(site, "hs1", "/etc/wmx/backup/job.json"))
    urls = [r["url"] for r in job["repositories"] if r["kind"] == "inventory"]
    assert urls == [f"ssh://borg@[{BK}]/srv/wmx-backup/example.test"]
    (repo_host,) = _vars(site, "hs1")["backup_repository_hosts"]
    assert repo_host["known_hosts_name"] == BK


def test_every_firewall_admits_its_peers_by_ip6_saddr(site: Site) -> None:
    def admitted(host: str) -> set[tuple[str, str, str]]:
        nft = _text(site, host, "/etc/nftables.conf")
        assert not re.search(r"\bip saddr fd00", nft)
        return set(re.findall(r"^\t\t(ip6?) saddr (\S+) tcp dport (\d+) accept$", nft, re.M))

    assert admitted("db1") == {
        ("ip6", HS, "5432"),
        ("ip6", WK, "5432"),
        ("ip6", MON, "9100"),
        ("ip6", MON, "9187"),
    }
    hs = admitted("hs1")
    assert ("ip6", PROXY, "8008") in hs and ("ip6", PROXY, "9898") in hs
    assert ("ip6", WK, "8009") in hs and ("ip6", WK, "6379") in hs and ("ip6", WK, "9898") in hs
    assert ("ip6", MON, "9000") in hs
    assert all(family == "ip6" for family, _, _ in hs)
    assert ("ip6", PROXY, "8101") in admitted("wk1")


def test_grafana_reaches_prometheus_bracketed(site: Site) -> None:
    assert prometheus_url(site) == f"http://[{MON}]:9090"
