"""Synapse's workers (synapse.workers): the settings, the plan, and what a site with
workers renders (the real processes: tests/integration/test_workers.py)."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from tests.conftest import answers
from tests.unit.render_sites import (
    BASE_CONFIG,
    SECRETS,
    files_by_dest,
    make_site,
    synapse_config,
)
from wmx.cli import app
from wmx.components import components_of, services_of
from wmx.components.synapse_workers import (
    CLIENT_ROUTES,
    FEDERATION_ROUTES,
    MEDIA_ROUTES,
    REDIS_PORT,
    SYNC_ROUTES,
    worker_plan,
)
from wmx.errors import InputError
from wmx.render.role_vars import role_vars
from wmx.site import Site
from wmx.site.init import init_site
from wmx.site.settings.workers import (
    PRESETS,
    RESERVED_CONNECTIONS,
    WORKER_TYPES,
    WorkerSettings,
    pool_sizes,
)
from wmx.site.topology import HostView


def _site(tmp_path: Path, workers: dict[str, Any], *hosts: HostView) -> Site:
    config = {**BASE_CONFIG, "synapse": {"workers": workers}}
    default = (HostView("hs1", "10.213.0.11", ("database", "homeserver", "proxy"), 4096),)
    return make_site(tmp_path, config, list(hosts or default))


def test_presets_and_explicit_counts() -> None:
    assert not WorkerSettings().enabled
    assert WorkerSettings(preset="small").counts() == PRESETS["small"]
    counts = WorkerSettings(preset="small", sync=3, media=0).counts()
    assert counts["sync"] == 3 and counts["media"] == 0 and counts["client"] == 1
    assert WorkerSettings(client=1).enabled  # a count without a preset
    assert set(PRESETS["large"]) == set(WORKER_TYPES)


@pytest.mark.parametrize(
    "bad",
    [
        {"media": 2},
        {"background": 2},
        {"sync": -1},
        {"sync": 17},
        {"preset": "huge"},
        {"syncs": 1},
        {"sync": "2"},
    ],
)
def test_settings_refuse_what_synapse_cannot_run(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WorkerSettings.model_validate(bad)


def test_config_set_refuses_a_bad_count_in_one_line(tmp_path: Path) -> None:
    site = init_site(tmp_path / "site", answers("example.test")).root
    runner = CliRunner()
    result = runner.invoke(
        app, ["--site", str(site), "config", "set", "synapse.workers.media", "2"]
    )
    assert result.exit_code == 2
    assert "synapse.workers.media" in result.stderr and "Traceback" not in result.output
    ok = runner.invoke(
        app, ["--site", str(site), "config", "set", "synapse.workers.preset", "small"]
    )
    assert ok.exit_code == 0, ok.output


def test_plan_names_ports_and_shared_settings() -> None:
    plan = worker_plan(WorkerSettings(preset="large"))
    names = [w.name for w in plan.workers]
    assert len(names) == len(set(names)) == sum(PRESETS["large"].values())
    ports = [p for w in plan.workers for p in (w.port, w.metrics_port)]
    assert len(ports) == len(set(ports))
    assert plan.shared["stream_writers"] == {"events": ["event-persister1", "event-persister2"]}
    assert set(plan.shared["instance_map"]) == {"main", "event-persister1", "event-persister2"}
    assert plan.shared["federation_sender_instances"] == [
        "federation-sender1", "federation-sender2"]  # fmt: skip
    assert plan.shared["pusher_instances"] == ["pusher1"]
    assert plan.shared["run_background_tasks_on"] == "background1"
    assert plan.shared["media_instance_running_background_jobs"] == "media1"
    assert next(w for w in plan.workers if w.kind == "media").app == (
        "synapse.app.media_repository"
    )
    sync = next(u for u in plan.upstreams if u.name == "synapse_sync")
    assert sync.balance == "hash $wmx_sync_key consistent" and len(sync.servers) == 4
    assert not worker_plan(WorkerSettings())


def test_no_federation_no_federation_workers_route() -> None:
    plan = worker_plan(WorkerSettings(preset="large"), federation=False)
    assert "synapse_federation_reader" not in {u.name for u in plan.upstreams}


@pytest.mark.parametrize(
    ("routes", "path"),
    [
        (SYNC_ROUTES, "/_matrix/client/v3/sync"),
        (CLIENT_ROUTES, "/_matrix/client/v3/rooms/!a:x/send/m.room.message/1"),
        (CLIENT_ROUTES, "/_matrix/client/v3/login"),
        (FEDERATION_ROUTES, "/_matrix/federation/v1/send/123"),
        (MEDIA_ROUTES, "/_matrix/client/v1/media/download/x/y"),
    ],
)
def test_routes_are_synapse_s_regular_expressions(routes: tuple[str, ...], path: str) -> None:
    assert any(re.search(r, path) for r in routes)


def test_a_site_without_workers_renders_none(tmp_path: Path) -> None:
    site = _site(tmp_path, {})
    files = files_by_dest(site, "hs1")
    assert not [d for d in files if "worker" in d or "redis" in d]
    config = synapse_config(files)
    assert "redis" not in config and "instance_map" not in config
    assert "upstream synapse_" not in files["/etc/nginx/sites-available/wmx-tls.conf"].content
    assert "redis" not in components_of(site, site.topology.hosts[0])


def test_small_preset_on_one_host(tmp_path: Path) -> None:
    site = _site(tmp_path, {"preset": "small"})
    (host,) = site.topology.hosts
    files = files_by_dest(site, "hs1")
    config = synapse_config(files)
    replication = [lst for lst in config["listeners"] if lst["port"] == 8009]
    assert replication == [{"port": 8009, "type": "http", "bind_addresses": ["127.0.0.1"],
                            "resources": [{"names": ["replication"]}]}]  # fmt: skip
    # Redis with its password, and the replication secret: in conf.d/secrets.yaml only.
    assert config["redis"] == {"enabled": True, "host": "127.0.0.1", "port": 6379,
                               "password": SECRETS.redis_password}  # fmt: skip
    assert config["worker_replication_secret"] == SECRETS.worker_replication_secret
    homeserver_yaml = files["/etc/matrix-synapse/homeserver.yaml"].content
    assert SECRETS.redis_password not in homeserver_yaml and "redis" not in yaml.safe_load(
        homeserver_yaml
    )
    assert config["instance_map"] == {"main": {"host": "127.0.0.1", "port": 8009}}
    assert config["federation_sender_instances"] == ["federation-sender1"]
    redis_conf = files["/etc/redis/redis.conf"].content
    assert re.search(r"^bind 127\.0\.0\.1 -::1$", redis_conf, re.M)
    assert f"\nrequirepass {SECRETS.redis_password}\n" in redis_conf
    assert files["/etc/redis/redis.conf"].secret
    unit = files["/etc/systemd/system/matrix-synapse-worker@.service"].content
    assert "-c /etc/matrix-synapse/workers/%i.yaml" in unit and "NoNewPrivileges=true" in unit
    nginx = files["/etc/nginx/sites-available/wmx-tls.conf"].content
    assert "upstream synapse_sync {\n    hash $wmx_sync_key consistent;" in nginx
    sync_at = nginx.index("location ~ ^/_matrix/client/(r0|v3)/sync$")
    assert sync_at < nginx.index("location ~ ^(/_matrix|/_synapse/client)")
    assert "error_page 502 = @synapse_main;" in nginx
    rv = role_vars(site, site.topology, host)
    roles = [(r["role"], r["action"]) for r in rv["wmx_roles"]]
    assert roles.index(("redis", "converge")) < roles.index(("synapse", "converge"))
    assert roles.index(("synapse", "converge")) < roles.index(("synapse_workers", "converge"))
    assert roles.index(("synapse_workers", "converge")) < roles.index(("nginx", "converge"))
    assert rv["synapse_redis"] is True
    instances = rv["synapse_workers_instances"]
    assert [i["name"] for i in instances] == [
        "sync1", "client1", "federation-sender1", "media1", "background1"]  # fmt: skip
    assert json.dumps(instances).count('"bind_addresses": ["127.0.0.1"]') == 2 * len(instances) - 2
    names = {s.name for s in services_of(site, host)}
    assert {"redis", "synapse-workers"} <= names


def test_workers_behind_a_remote_proxy(tmp_path: Path) -> None:
    hs = HostView("hs1", "10.0.0.12", ("database", "homeserver"), 4096)
    proxy = HostView("proxy1", "10.0.0.13", ("proxy",), 2048)
    site = _site(tmp_path, {"sync": 1}, hs, proxy)
    nginx = files_by_dest(site, "proxy1")["/etc/nginx/sites-available/wmx-tls.conf"].content
    assert "server 10.0.0.12:8101;" in nginx
    rv = role_vars(site, site.topology, hs)
    (sync,) = rv["synapse_workers_instances"]
    assert sync["config"]["worker_listeners"][0]["bind_addresses"] == ["127.0.0.1", "10.0.0.12"]
    nft = files_by_dest(site, "hs1")["/etc/nftables.conf"].content
    assert re.search(r"ip saddr 10\.0\.0\.13 tcp dport 8101 accept", nft), nft


def test_monitoring_scrapes_each_worker(tmp_path: Path) -> None:
    hs = HostView("hs1", "10.0.0.12", ("database", "homeserver", "proxy"), 4096)
    mon = HostView("mon1", "10.0.0.14", ("monitoring",), 2048)
    site = _site(tmp_path, {"sync": 2}, hs, mon)
    prometheus = files_by_dest(site, "mon1")["/etc/prometheus/prometheus.yml"].content
    jobs = {j["job_name"]: j for j in yaml.safe_load(prometheus)["scrape_configs"]}
    scraped = {
        (c["targets"][0], c["labels"]["job"], c["labels"]["index"])
        for c in jobs["synapse"]["static_configs"]
    }
    assert scraped == {
        ("10.0.0.12:9000", "master", "1"),
        ("10.0.0.12:9301", "sync", "1"),
        ("10.0.0.12:9302", "sync", "2"),
    }
    nft = files_by_dest(site, "hs1")["/etc/nftables.conf"].content
    assert re.search(r"ip saddr 10\.0\.0\.14 tcp dport 9302 accept", nft), nft


def test_pools_add_up_to_max_connections() -> None:
    assert pool_sizes(1, 100) == (5, 10)  # one process: Synapse's defaults, as before
    assert pool_sizes(6, 100) == (5, 10)  # small: 6 x 10 + 10 <= 100
    assert pool_sizes(16, 100) == (5, 5)  # large: 16 x 5 + 10 <= 100
    assert pool_sizes(16, 60) == (3, 3)
    for processes, max_connections in [(1, 20), (6, 100), (16, 100), (16, 60), (9, 47)]:
        _, cp_max = pool_sizes(processes, max_connections)
        assert processes * cp_max + RESERVED_CONNECTIONS <= max_connections
    with pytest.raises(ValueError, match="need at least 58 PostgreSQL connections"):
        pool_sizes(16, 57)


def test_large_preset_renders_smaller_pools_and_too_few_connections_are_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    site = _site(tmp_path / "a", {"preset": "large"})
    config = synapse_config(files_by_dest(site, "hs1"))
    assert (config["database"]["args"]["cp_min"], config["database"]["args"]["cp_max"]) == (5, 5)
    root = init_site(tmp_path / "site", answers("example.test")).root
    cmd = ["--site", str(root), "config", "set"]
    runner = CliRunner()
    assert runner.invoke(app, [*cmd, "synapse.workers.preset", "large"]).exit_code == 0
    refused = runner.invoke(app, [*cmd, "postgresql.max_connections", "50"])
    assert refused.exit_code == 2
    assert "raise postgresql.max_connections (now 50)" in refused.stderr
    assert "Traceback" not in refused.output


def test_worker_ports_meet_no_other_components_port() -> None:
    # Every port constant of the components (Alertmanager's 9093 is Synapse's documented
    # replication port: a lab deploy of the small preset failed on it).
    import wmx.components as package

    others: dict[int, str] = {}
    for component in package.COMPONENTS:
        if component.name in {"synapse_workers", "redis"}:
            continue  # the plan's own ports (redis re-exports REDIS_PORT)
        module = importlib.import_module(f"wmx.components.{component.name}")
        for name, value in vars(module).items():
            if name.endswith("_PORT") and isinstance(value, int):
                others[value] = f"{component.name}.{name}"
    counts = {**dict.fromkeys(WORKER_TYPES, 1), "sync": 16}
    plan = worker_plan(WorkerSettings.model_validate(counts))
    ours = {plan.replication_port, REDIS_PORT}
    ours |= {p for w in plan.workers for p in (w.port, w.metrics_port)}
    clashes = {p: others[p] for p in ours if p in others}
    assert clashes == {}


def _spread_site(tmp_path: Path, workers: dict[str, Any]) -> Site:
    """The e2e's layout: the database on db1, the main process, Redis and nginx on hs1,
    the workers on wk1 (group synapse_workers)."""
    return _site(
        tmp_path,
        workers,
        HostView("db1", "10.0.0.11", ("database",), 4096),
        HostView("hs1", "10.0.0.12", ("homeserver", "proxy"), 4096),
        HostView("wk1", "10.0.0.13", ("synapse_workers",), 4096),
    )


def test_workers_on_a_host_of_their_own(tmp_path: Path) -> None:
    site = _spread_site(tmp_path, {"preset": "small"})
    _db, hs, wk = site.topology.hosts
    assert "synapse_workers" in components_of(site, wk) and "redis" not in components_of(site, wk)
    assert "synapse" in components_of(site, wk)  # its release, settings and signing key
    assert {s.name for s in services_of(site, wk)} >= {"synapse-workers"}
    assert "synapse" not in {s.name for s in services_of(site, wk)}  # no main process
    worker_vars, main_vars = role_vars(site, site.topology, wk), role_vars(site, site.topology, hs)
    assert (worker_vars["synapse_main"], worker_vars["synapse_key_host"]) == (False, "hs1")
    assert "synapse_main" not in main_vars
    on_wk = [i["name"] for i in worker_vars["synapse_workers_instances"]]
    assert on_wk == ["sync1", "client1", "federation-sender1", "background1"]
    # The media worker stays with the media store, on the homeserver host.
    assert [i["name"] for i in main_vars["synapse_workers_instances"]] == ["media1"]
    sync = worker_vars["synapse_workers_instances"][0]["config"]["worker_listeners"][0]
    assert sync["bind_addresses"] == ["127.0.0.1", "10.0.0.13"]
    # Every process reaches the main process's replication listener and Redis on hs1's
    # address, with the secrets; the worker host has the same settings.
    for host in ("hs1", "wk1"):
        files = files_by_dest(site, host)
        config = synapse_config(files)
        assert config["instance_map"]["main"] == {"host": "10.0.0.12", "port": 8009}
        assert config["redis"]["host"] == "10.0.0.12"
        assert config["worker_replication_secret"] == SECRETS.worker_replication_secret
        replication = next(lst for lst in config["listeners"] if lst["port"] == 8009)
        assert replication["bind_addresses"] == ["127.0.0.1", "10.0.0.12"]
    # The worker host reaches PostgreSQL over TCP like the main process does.
    assert synapse_config(files_by_dest(site, "wk1"))["database"]["args"]["host"] == "10.0.0.11"
    hs_files = files_by_dest(site, "hs1")
    assert re.search(
        r"^bind 127\.0\.0\.1 10\.0\.0\.12$", hs_files["/etc/redis/redis.conf"].content, re.M
    )
    nginx = hs_files["/etc/nginx/sites-available/wmx-tls.conf"].content
    assert "server 10.0.0.13:8102;" in nginx  # sync1 on wk1 (worker 2: after no persister)
    assert re.search(
        r"upstream synapse_media \{\n(    .*\n)*    server 127\.0\.0\.1:81\d\d;", nginx
    )
    # Replication and Redis only from the worker host; the workers only from the proxy.
    hs_nft = hs_files["/etc/nftables.conf"].content
    for port in (8009, 6379):
        assert re.search(rf"ip saddr 10\.0\.0\.13 tcp dport {port} accept", hs_nft), hs_nft
        assert not re.search(rf"ip saddr 10\.0\.0\.11 tcp dport {port} accept", hs_nft)
    wk_nft = files_by_dest(site, "wk1")["/etc/nftables.conf"].content
    assert re.search(r"ip saddr 10\.0\.0\.12 tcp dport 8101 accept", wk_nft), wk_nft
    assert "/etc/redis/redis.conf" not in files_by_dest(site, "wk1")
    assert "/var/lib/synapse/signing.key" not in files_by_dest(site, "wk1")  # copied, not rendered


def test_worker_hosts_round_robin_and_event_persisters_answer_their_peers(tmp_path: Path) -> None:
    hosts = (
        HostView("hs1", "10.0.0.12", ("database", "homeserver", "proxy"), 4096),
        HostView("wk1", "10.0.0.13", ("synapse_workers",), 4096),
        HostView("wk2", "10.0.0.14", ("synapse_workers",), 4096),
    )
    site = _site(tmp_path, {"event_persister": 2, "sync": 3}, *hosts)
    placed = {h.name: [i["name"] for i in role_vars(site, site.topology, h).get(
        "synapse_workers_instances", [])] for h in hosts}  # fmt: skip
    assert placed == {"hs1": [], "wk1": ["event-persister1", "sync1", "sync3"],
                      "wk2": ["event-persister2", "sync2"]}  # fmt: skip
    config = synapse_config(files_by_dest(site, "hs1"))
    assert config["instance_map"]["event-persister2"] == {"host": "10.0.0.14", "port": 8102}
    wk2_nft = files_by_dest(site, "wk2")["/etc/nftables.conf"].content
    for peer in ("10.0.0.12", "10.0.0.13"):
        assert re.search(rf"ip saddr {peer} tcp dport 8102 accept", wk2_nft), wk2_nft


@pytest.mark.parametrize(
    ("workers", "groups", "message"),
    [
        ({}, ("synapse_workers",), "runs no worker that can leave the homeserver host"),
        ({"media": 1}, ("synapse_workers",), "runs no worker that can leave the homeserver host"),
        ({"sync": 1}, ("synapse_workers", "homeserver"), "wk1 runs the homeserver"),
    ],
)
def test_impossible_worker_layouts_are_refused_at_load(
    tmp_path: Path, workers: dict[str, Any], groups: tuple[str, ...], message: str
) -> None:
    root = init_site(tmp_path / "site", answers("example.test")).root
    runner = CliRunner()
    for key, value in workers.items():
        argv = ["--site", str(root), "config", "set", f"synapse.workers.{key}", str(value)]
        assert runner.invoke(app, argv).exit_code == 0
    inventory = root / "inventory.yml"
    text = inventory.read_text()
    children = "    synapse_workers:\n      hosts:\n        wk1:\n"
    if "homeserver" in groups:  # the one host is in both groups
        name = next(iter(yaml.safe_load(text)["all"]["hosts"]))
        children = f"    synapse_workers:\n      hosts:\n        {name}:\n"
        message = message.replace("wk1", name)
    else:
        text = text.replace("  hosts:\n", "  hosts:\n    wk1:\n      ansible_host: 10.0.0.13\n", 1)
    inventory.write_text(text.replace("  children:\n", "  children:\n" + children, 1))
    result = runner.invoke(app, ["--site", str(root), "render"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "inventory.yml:" in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_more_worker_hosts_than_workers_is_refused(tmp_path: Path) -> None:
    hosts = (
        HostView("hs1", "10.0.0.12", ("database", "homeserver", "proxy"), 4096),
        HostView("wk1", "10.0.0.13", ("synapse_workers",), 4096),
        HostView("wk2", "10.0.0.14", ("synapse_workers",), 4096),
    )
    with pytest.raises(InputError, match=r"synapse_workers: wk2 would run no worker"):
        _site(tmp_path, {"sync": 1}, *hosts)


def test_monitoring_scrapes_each_worker_where_it_runs(tmp_path: Path) -> None:
    hs = HostView("hs1", "10.0.0.12", ("database", "homeserver", "proxy", "monitoring"), 4096)
    wk = HostView("wk1", "10.0.0.13", ("synapse_workers",), 4096)
    site = _site(tmp_path, {"sync": 1, "media": 1}, hs, wk)
    prometheus = files_by_dest(site, "hs1")["/etc/prometheus/prometheus.yml"].content
    jobs = {j["job_name"]: j for j in yaml.safe_load(prometheus)["scrape_configs"]}
    scraped = {
        (c["targets"][0], c["labels"]["job"], c["labels"]["instance"])
        for c in jobs["synapse"]["static_configs"]
    }
    assert scraped == {
        ("127.0.0.1:9000", "master", "hs1"),
        ("10.0.0.13:9301", "sync", "wk1"),
        ("127.0.0.1:9302", "media", "hs1"),
    }
    (sync,) = role_vars(site, site.topology, wk)["synapse_workers_instances"]
    assert sync["config"]["worker_listeners"][-1]["bind_addresses"] == ["127.0.0.1", "10.0.0.13"]
    nft = files_by_dest(site, "wk1")["/etc/nftables.conf"].content
    assert re.search(r"ip saddr 10\.0\.0\.12 tcp dport 9301 accept", nft), nft
