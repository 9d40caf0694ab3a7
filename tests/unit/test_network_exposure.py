"""A site on several hosts, as someone on the hosts' network sees it: what listens where,
whom each host's firewall lets in, and what Synapse may fetch on a user's behalf."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from tests.conftest import answers
from tests.unit.render_sites import BASE_CONFIG, files_by_dest, make_site, synapse_config
from wmx.cli import app
from wmx.components.monitoring import prometheus_url
from wmx.render.role_vars import role_vars
from wmx.site import Site
from wmx.site.grammars import NON_PUBLIC_RANGES
from wmx.site.init import init_site
from wmx.site.model import SiteConfig
from wmx.site.topology import HostView

DB, HS, PROXY, WK, MON, TURN = (
    HostView("db1", "10.0.0.11", ("database",), 4096),
    HostView("hs1", "10.0.0.12", ("homeserver", "irc_bridge"), 4096),
    HostView("proxy1", "10.0.0.13", ("proxy",), 2048),
    HostView("wk1", "10.0.0.14", ("synapse_workers",), 4096),
    HostView("mon1", "10.0.0.16", ("monitoring",), 2048),
    HostView("turn1", "10.0.0.17", ("turn",), 2048),
)


def _site(tmp_path: Path, *hosts: HostView, **synapse: Any) -> Site:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = {
        **BASE_CONFIG,
        "synapse": {"workers": {"preset": "small"}, **synapse},
        "turn": {"tls": False},
    }
    return make_site(tmp_path, config, list(hosts))


def _admitted(nft: str, port: int) -> set[str]:
    return set(re.findall(rf"ip6? saddr (\S+) tcp dport {port} accept", nft))


def test_worker_hosts_reach_the_irc_bridge(tmp_path: Path) -> None:
    # The background worker (notify_appservices_from_worker) runs on wk1: it pushes the
    # bridge its events, and every Synapse process may ask the bridge about its users.
    # The bridge listened on loopback (the proxy on its host) or admitted only the proxy.
    for proxy_on_hs in (True, False):
        hs = HostView("hs1", "10.0.0.12", ("homeserver", "irc_bridge", "proxy"), 4096)
        hosts = (DB, hs, WK) if proxy_on_hs else (DB, HS, PROXY, WK)
        site = _site(tmp_path / str(proxy_on_hs), *hosts)
        files = files_by_dest(site, "hs1")
        config = synapse_config(files)
        assert config["notify_appservices_from_worker"] == "background1"
        registration = yaml.safe_load(files["/etc/heisenbridge/registration.yaml"].content)
        assert registration["url"] == "http://10.0.0.12:9898"
        unit = files["/etc/systemd/system/heisenbridge.service"].content
        assert " -l 10.0.0.12 " in unit
        expected = {"10.0.0.14"} | (set() if proxy_on_hs else {"10.0.0.13"})
        assert _admitted(files["/etc/nftables.conf"].content, 9898) == expected


def test_synapse_never_fetches_from_the_site_s_own_hosts(tmp_path: Path) -> None:
    # Hosts on public addresses: Synapse's default blacklist (private ranges) let a
    # user's push gateway, a remote server's address or a previewed link reach them:
    # PostgreSQL and the workers' replication (their firewalls admit the homeserver
    # host) and every port of the homeserver host itself (its own address is loopback).
    db = HostView("db1", "198.18.0.1", ("database",), 4096)  # covered already
    hs = HostView("hs1", "192.0.2.12", ("homeserver", "proxy"), 4096)  # covered already
    wk = HostView("wk1", "5.6.7.14", ("synapse_workers",), 4096, {"public_ipv6": ["2a01:4f8::14"]})
    mon = HostView("mon1", "mon1.example.net", ("monitoring",), 2048, {"public_ipv4": "5.6.7.16"})
    site = _site(tmp_path, db, hs, wk, mon, url_previews={"enabled": True})
    own = ["5.6.7.14/32", "2a01:4f8::14/128", "5.6.7.16/32"]
    for host in ("hs1", "wk1"):
        config = synapse_config(files_by_dest(site, host))
        assert config["ip_range_blacklist"] == [*NON_PUBLIC_RANGES, *own]
        assert config["url_preview_ip_range_blacklist"] == [*NON_PUBLIC_RANGES, *own]
        assert "ip_range_whitelist" not in config


def test_an_own_preview_blacklist_gains_the_site_s_hosts(tmp_path: Path) -> None:
    hs = HostView("hs1", "5.6.7.12", ("database", "homeserver", "proxy"), 4096)
    mine = [*NON_PUBLIC_RANGES, "5.6.0.0/16"]
    previews = {"enabled": True, "ip_range_blacklist": mine}
    site = _site(tmp_path, hs, url_previews=previews, workers={"preset": "none"})
    config = synapse_config(files_by_dest(site, "hs1"))
    assert config["url_preview_ip_range_blacklist"] == mine  # covered by the operator's
    assert config["ip_range_blacklist"] == [*NON_PUBLIC_RANGES, "5.6.7.12/32"]


@pytest.mark.parametrize("network", ["0.0.0.0/0", "128.0.0.0/1", "10.0.0.0/7", "::/0", "2000::/3"])
def test_remote_scrape_never_admits_most_of_the_internet(network: str) -> None:
    # Prometheus answers remote scrapers over plain HTTP with basic auth; the firewall's
    # allow list admitted the whole internet when told so.
    with pytest.raises(ValidationError, match="Prometheus would answer most of the internet"):
        SiteConfig.model_validate(
            {**BASE_CONFIG, "monitoring": {"remote_scrape": {"allow": ["192.0.2.7", network]}}}
        )


def test_remote_scrape_admits_a_private_network_and_addresses(tmp_path: Path) -> None:
    allow = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]
    config = {**BASE_CONFIG, "monitoring": {"remote_scrape": {"allow": allow}}}
    groups = ("database", "homeserver", "proxy", "monitoring")
    site = make_site(tmp_path, config, [HostView("hs1", "10.0.0.12", groups)])
    files = files_by_dest(site, "hs1")
    assert _admitted(files["/etc/nftables.conf"].content, 9090) == set(allow)
    # Prometheus answers on IPv6 too (0.0.0.0:9090 left 2001:db8::/32 unanswered).
    assert "--web.listen-address=:9090 " in files["/etc/default/prometheus"].content


def test_an_ipv6_host_address_on_a_site_of_several_hosts_renders_bracketed(
    tmp_path: Path,
) -> None:
    # It was refused at load (886e6b1): other hosts' files named it as address:port or in
    # URLs unbracketed ("fd00::12:8008"). tests/unit/test_ipv6_hosts.py checks each file.
    root = init_site(tmp_path / "site", answers("example.test")).root
    inventory = root / "inventory.yml"
    text = inventory.read_text().replace("203.0.113.10", '"fd00::12"')
    text = text.replace("  hosts:\n", '  hosts:\n    db1:\n      ansible_host: "fd00::11"\n', 1)
    database = "    database:\n      hosts:\n        "
    inventory.write_text(text.replace(database + "matrix:", database + "db1:"))
    result = CliRunner().invoke(app, ["--site", str(root), "render"])
    assert result.exit_code == 0, result.output
    hba = (root / "build/db1/etc/wmx/postgresql/pg_hba.conf").read_text()
    assert re.search(r"^hostssl\s+synapse\s+synapse\s+fd00::12/128\s", hba, re.M)
    secrets = (root / "build/matrix/etc/matrix-synapse/conf.d/secrets.yaml").read_text()
    assert yaml.safe_load(secrets)["database"]["args"]["host"] == "fd00::11"


def test_one_host_or_ipv4_and_host_names_still_load(tmp_path: Path) -> None:
    one = HostView("hs1", "fd00::12", ("database", "homeserver", "proxy"), 4096)
    assert _site(tmp_path / "a", one, workers={"preset": "none"})
    named = HostView("db1", "db1.example.net", ("database",), 4096)
    assert _site(tmp_path / "b", named, HS, PROXY, WK)


def test_a_one_host_site_keeps_every_internal_listener_on_loopback(tmp_path: Path) -> None:
    groups = ("database", "homeserver", "proxy", "monitoring", "irc_bridge", "turn")
    site = make_site(
        tmp_path,
        {**BASE_CONFIG, "synapse": {"workers": {"preset": "small"}}},
        [HostView("hs1", "203.0.113.10", groups, 4096)],
    )
    files = {dest: f.content for dest, f in files_by_dest(site, "hs1").items()}
    config = synapse_config(files_by_dest(site, "hs1"))
    assert {tuple(lst["bind_addresses"]) for lst in config["listeners"]} == {("127.0.0.1",)}
    instances = role_vars(site, site.topology, site.topology.hosts[0])["synapse_workers_instances"]
    listeners = [lst for i in instances for lst in i["config"]["worker_listeners"]]
    binds = {tuple(lst["bind_addresses"]) for lst in listeners}
    assert binds == {("127.0.0.1",)}
    assert re.search(r"^bind 127\.0\.0\.1 -::1$", files["/etc/redis/redis.conf"], re.M)
    assert "listen_addresses = 'localhost'\n" in files["/etc/wmx/postgresql/postgresql.conf"]
    listens = [
        address
        for dest, text in files.items()
        if dest.startswith("/etc/default/prometheus")
        for address in re.findall(r"--web\.listen-address=(\S+?):\d+", text)
    ]
    assert len(listens) == 6 and set(listens) == {"127.0.0.1"}
    assert " -l 127.0.0.1 " in files["/etc/systemd/system/heisenbridge.service"]
    # The firewall opens the public services only, and admits no other host anywhere.
    nft = files["/etc/nftables.conf"]
    assert set(re.findall(r"^\t\ttcp dport (\S+) accept$", nft, re.M)) == {
        "22", "80", "113", "443", "3478", "5349"
    }  # fmt: skip
    assert set(re.findall(r"^\t\tudp dport (\S+) accept$", nft, re.M)) == {
        "3478", "5349", "49152-65535"
    }  # fmt: skip
    assert "saddr" not in nft


def test_grafana_reaches_an_ipv6_monitoring_host_by_a_bracketed_url(tmp_path: Path) -> None:
    groups = ("database", "homeserver", "proxy", "monitoring")
    for n, (address, url) in enumerate(
        (("fd00::12", "http://[fd00::12]:9090"), ("10.0.0.12", "http://10.0.0.12:9090"))
    ):
        (tmp_path / str(n)).mkdir()
        site = make_site(tmp_path / str(n), BASE_CONFIG, [HostView("hs1", address, groups)])
        assert prometheus_url(site) == url
