"""Golden and property tests of the core deploy's templates (base, postgresql, synapse,
nginx) as the renderer turns them into build/<host>/…: what an operator would check in
the files that land on the hosts.

Two layouts: the chapter's one host running everything, and the SRE's one host per
component (remote database, remote proxy, federation on 8448, token registration, URL
previews). Regenerate the golden tree after an intended change with
`WMX_UPDATE_GOLDEN=1 pytest tests/unit/test_render_core.py`, and review its diff.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.unit.render_sites import (
    BASE_CONFIG,
    SECRETS,
)
from tests.unit.render_sites import (
    files_by_dest as _files,
)
from tests.unit.render_sites import (
    make_site as _site,
)
from tests.unit.render_sites import (
    synapse_config as _synapse_config,
)
from wmx import debian
from wmx.render import render_site, write_build
from wmx.render.role_vars import SYNAPSE_CURRENT_LINK, role_vars
from wmx.site import Site
from wmx.site.topology import HostView

GOLDEN = Path(__file__).parent / "golden" / "render_core"

# --- golden -----------------------------------------------------------------------------


CORE = {"base", "postgresql", "synapse", "nginx"}


def _without_key_material(content: str) -> str:
    """PEM blocks (the database CA's, new for each test site) as their type only:
    tests/unit/test_pki.py checks what they hold."""
    pem = r"(-----BEGIN (CERTIFICATE|PRIVATE KEY)-----\n)[^-]*(-----END \2-----)"
    return re.sub(pem, r"\1...\n\3", content)


@pytest.mark.parametrize("layout", ["one_host", "three_hosts"])
def test_render_matches_golden_tree(layout: str, request: pytest.FixtureRequest) -> None:
    site: Site = request.getfixturevalue(layout)
    actual = {
        f"{host}/{item.src}": _without_key_material(item.content)
        for host, files in render_site(site).items()
        for item in files
        if item.component in CORE
    }
    golden = GOLDEN / layout
    if os.environ.get("WMX_UPDATE_GOLDEN") == "1":
        shutil.rmtree(golden, ignore_errors=True)
        for name, text in actual.items():
            (golden / name).parent.mkdir(parents=True, exist_ok=True)
            (golden / name).write_text(text)
    expected = {
        p.relative_to(golden).as_posix(): p.read_text()
        for p in sorted(golden.rglob("*"))
        if p.is_file()
    }
    assert sorted(actual) == sorted(expected), "files differ; WMX_UPDATE_GOLDEN=1 regenerates"
    for name in expected:
        assert actual[name] == expected[name], f"{name} differs; WMX_UPDATE_GOLDEN=1 regenerates"


def test_build_tree_has_manifest_and_vars(one_host: Site) -> None:
    build = write_build(one_host, render_site(one_host))
    manifest = json.loads((build / "hs1/.wmx/manifest.json").read_text())
    entry = next(e for e in manifest if e["dest"] == "/etc/matrix-synapse/conf.d/secrets.yaml")
    assert entry["secret"] is True
    assert (build / "hs1" / entry["src"]).is_file()
    values = json.loads((build / "hs1/.wmx/vars.json").read_text())
    (host,) = one_host.topology.hosts
    assert values == role_vars(one_host, one_host.topology, host)


# --- what lands where ---------------------------------------------------------------------


def test_one_host_receives_every_core_file(one_host: Site) -> None:
    files = _files(one_host, "hs1")
    assert set(files) == {
        "/etc/nftables.conf",
        "/etc/wmx/postgresql/postgresql.conf",
        "/etc/wmx/postgresql/pg_hba.conf",
        "/etc/matrix-synapse/homeserver.yaml",
        "/etc/matrix-synapse/log.yaml",
        "/etc/matrix-synapse/conf.d/secrets.yaml",
        "/etc/systemd/system/matrix-synapse.service",
        "/etc/nginx/sites-available/wmx-acme.conf",
        "/etc/nginx/sites-available/wmx-tls.conf",
        "/etc/nginx/snippets/wmx-tls-params.conf",
        "/etc/nginx/ffdhe2048.pem",
        "/etc/letsencrypt/renewal-hooks/deploy/wmx-reload-nginx",
        "/etc/wmx/nginx/well-known/matrix-server.json",
        "/etc/wmx/nginx/well-known/matrix-client.json",
        "/etc/wmx/nginx/well-known/matrix-support.json",
    }


def test_each_host_receives_only_its_components(three_hosts: Site) -> None:
    rendered = render_site(three_hosts)
    components = {host: {f.component for f in files} for host, files in rendered.items()}
    assert components == {
        "db1": {"base", "postgresql"},
        "hs1": {"base", "synapse"},
        "proxy1": {"base", "nginx"},
    }


@pytest.mark.parametrize("layout", ["one_host", "three_hosts"])
def test_secrets_only_in_files_marked_secret(layout: str, request: pytest.FixtureRequest) -> None:
    site: Site = request.getfixturevalue(layout)
    for host, files in render_site(site).items():
        for item in files:
            leaked = [v for v in SECRETS.values() if v in item.content]
            if leaked:
                assert item.secret, f"{host}:{item.dest} holds a secret but is not marked secret"
                assert item.mode in {"0600", "0640"}, f"{host}:{item.dest} is mode {item.mode}"
                assert not int(item.mode, 8) & 0o007, f"{host}:{item.dest} is world-readable"


def test_secret_files_are_private(one_host: Site) -> None:
    files = _files(one_host, "hs1")
    secrets_yaml = files["/etc/matrix-synapse/conf.d/secrets.yaml"]
    assert (secrets_yaml.secret, secrets_yaml.mode, secrets_yaml.owner, secrets_yaml.group) == (
        True,
        "0640",
        "root",
        "synapse",
    )


# --- base: the firewall -------------------------------------------------------------------


def _accepted(nftables_conf: str) -> tuple[set[int], set[tuple[str, int]]]:
    public = {int(p) for p in re.findall(r"^\s*tcp dport (\d+) accept$", nftables_conf, re.M)}
    restricted = {
        (a, int(p))
        for a, p in re.findall(r"^\s*ip6? saddr (\S+) tcp dport (\d+) accept$", nftables_conf, re.M)
    }
    return public, restricted


def test_firewall_of_one_host(one_host: Site) -> None:
    conf = _files(one_host, "hs1")["/etc/nftables.conf"].content
    assert "policy drop;" in conf
    assert "ct state established,related accept" in conf
    assert 'iif "lo" accept' in conf
    assert "meta l4proto icmp accept" in conf and "meta l4proto ipv6-icmp accept" in conf
    assert _accepted(conf) == ({22, 80, 443}, set())


def test_firewall_of_three_hosts(three_hosts: Site) -> None:
    rendered = {h: {f.dest: f.content for f in fs} for h, fs in render_site(three_hosts).items()}
    assert _accepted(rendered["db1"]["/etc/nftables.conf"]) == ({22}, {("10.0.0.12", 5432)})
    assert _accepted(rendered["hs1"]["/etc/nftables.conf"]) == ({22}, {("10.0.0.13", 8008)})
    assert _accepted(rendered["proxy1"]["/etc/nftables.conf"]) == ({22, 80, 443, 8448}, set())


@pytest.mark.parametrize("layout", ["one_host", "three_hosts"])
def test_vars_json_agrees_with_the_firewall(layout: str, request: pytest.FixtureRequest) -> None:
    site: Site = request.getfixturevalue(layout)
    for host in site.topology.hosts:
        conf = _files(site, host.name)["/etc/nftables.conf"].content
        values = role_vars(site, site.topology, host)
        assert set(values["base_firewall_tcp_ports"]) == _accepted(conf)[0]


# --- role_vars: vars.json ---------------------------------------------------------------------


def test_role_vars_of_one_host(one_host: Site) -> None:
    (host,) = one_host.topology.hosts
    assert role_vars(one_host, one_host.topology, host) == {
        "wmx_components": ["base", "postgresql", "synapse", "nginx"],
        # site.yml's order; what a host does not run (any more) is removed.
        "wmx_roles": [
            {"role": "base", "action": "converge"},
            {"role": "postgresql", "action": "converge"},
            {"role": "redis", "action": "remove"},
            {"role": "synapse", "action": "converge"},
            {"role": "synapse_workers", "action": "remove"},
            {"role": "irc_bridge", "action": "remove"},
            {"role": "element", "action": "remove"},
            {"role": "nginx", "action": "converge"},
            {"role": "turn", "action": "remove"},
            {"role": "exporters", "action": "remove"},
            {"role": "monitoring", "action": "remove"},
            {"role": "backup", "action": "remove"},
        ],
        "base_firewall_tcp_ports": [22, 80, 443],
        "synapse_version": one_host.config.synapse.version,
        "synapse_server_name": "example.test",
        "synapse_venv": f"/opt/synapse/venvs/{one_host.config.synapse.version}",
        "synapse_current_link": "/opt/synapse/current",
        "nginx_tls_domains": ["example.test", "matrix.example.test"],
        "acme_directory": "https://acme.lab.test:14000/dir",
        # Not Let's Encrypt, no staging_directory: no rehearsal of the first order.
        "acme_staging_directory": "",
        "acme_email": "acme@example.test",
        "wmx_debian_releases": debian.role_vars(),
    }


def test_role_vars_name_only_the_hosts_components(three_hosts: Site) -> None:
    keys = {
        h.name: set(role_vars(three_hosts, three_hosts.topology, h))
        for h in three_hosts.topology.hosts
    }
    assert keys["db1"] == {
        "wmx_components",
        "wmx_roles",
        "base_firewall_tcp_ports",
        "wmx_debian_releases",
    }
    assert "synapse_version" in keys["hs1"] and "nginx_tls_domains" not in keys["hs1"]
    assert "nginx_tls_domains" in keys["proxy1"] and "synapse_version" not in keys["proxy1"]


def test_vars_json_holds_no_secret(one_host: Site) -> None:
    (host,) = one_host.topology.hosts
    text = json.dumps(role_vars(one_host, one_host.topology, host))
    assert not [v for v in SECRETS.values() if v in text]


# --- postgresql ---------------------------------------------------------------------------


def test_local_database_uses_peer_auth_and_no_password(one_host: Site) -> None:
    files = _files(one_host, "hs1")
    hba = files["/etc/wmx/postgresql/pg_hba.conf"].content
    assert re.search(r"^local\s+all\s+all\s+peer$", hba, re.M)
    assert not re.search(r"^host\s+synapse", hba, re.M)
    conf = files["/etc/wmx/postgresql/postgresql.conf"].content
    assert "listen_addresses = 'localhost'" in conf


def test_remote_database_admits_the_homeserver_with_scram_over_tls_only(three_hosts: Site) -> None:
    files = _files(three_hosts, "db1")
    hba = files["/etc/wmx/postgresql/pg_hba.conf"].content
    rule = r"^hostssl\s+synapse\s+synapse\s+10\.0\.0\.12/32\s+scram-sha-256$"
    assert re.search(rule, hba, re.M)
    assert not re.search(r"^host\s+\S+\s+\S+\s+10\.0\.0\.12", hba, re.M)
    assert hba.rstrip().splitlines()[-1].split() == ["hostnossl", "all", "all", "all", "reject"]
    conf = files["/etc/wmx/postgresql/postgresql.conf"].content
    assert "listen_addresses = 'localhost, 10.0.0.11'" in conf
    assert "password_encryption = 'scram-sha-256'" in conf
    assert "shared_buffers = 2048MB" in conf  # a quarter of db1's 8192 MiB


# --- synapse ------------------------------------------------------------------------------


def test_synapse_config_of_one_host(one_host: Site) -> None:
    config = _synapse_config(_files(one_host, "hs1"))
    assert config["server_name"] == "example.test"
    assert config["public_baseurl"] == "https://matrix.example.test/"
    client, metrics = config["listeners"]
    assert client == {
        "port": 8008,
        "type": "http",
        "tls": False,
        "bind_addresses": ["127.0.0.1"],
        "x_forwarded": True,
        "resources": [{"names": ["client", "federation"], "compress": False}],
    }
    assert metrics == {"port": 9000, "type": "metrics", "bind_addresses": ["127.0.0.1"]}
    assert config["enable_metrics"] is True
    assert config["database"] == {
        "name": "psycopg2",
        "args": {
            "user": "synapse",
            "dbname": "synapse",
            "host": "/var/run/postgresql",
            "cp_min": 5,
            "cp_max": 10,
        },
    }
    assert config["media_store_path"] == "/var/lib/synapse/media_store"
    assert config["max_upload_size"] == "50M"
    assert config["enable_registration"] is False
    assert "registration_requires_token" not in config
    assert config["url_preview_enabled"] is False
    assert config["presence"] == {"enabled": True}
    assert config["report_stats"] is False
    assert config["signing_key_path"] == "/var/lib/synapse/signing.key"
    assert config["log_config"] == "/etc/matrix-synapse/log.yaml"
    assert config["trusted_key_servers"] == [{"server_name": "matrix.org"}]
    assert config["suppress_key_server_warning"] is True
    assert config["registration_shared_secret"] == SECRETS.registration_shared_secret
    assert config["macaroon_secret_key"] == SECRETS.macaroon_secret_key
    assert config["form_secret"] == SECRETS.form_secret


def test_synapse_config_of_three_hosts(three_hosts: Site) -> None:
    files = _files(three_hosts, "hs1")
    config = _synapse_config(files)
    # The proxy is elsewhere: Synapse also listens on its own address (firewalled).
    assert config["listeners"][0]["bind_addresses"] == ["127.0.0.1", "10.0.0.12"]
    assert config["listeners"][1]["bind_addresses"] == ["127.0.0.1"]
    assert config["database"]["args"] == {
        "user": "synapse",
        "password": SECRETS.postgres_password,
        "dbname": "synapse",
        "host": "10.0.0.11",
        "port": 5432,
        "sslmode": "verify-full",
        "sslrootcert": "/etc/matrix-synapse/database-ca.crt",
        "cp_min": 5,
        "cp_max": 10,
    }
    homeserver_yaml = yaml.safe_load(files["/etc/matrix-synapse/homeserver.yaml"].content)
    assert "database" not in homeserver_yaml, "the remote database section belongs in secrets"
    assert config["enable_registration"] is True
    assert config["registration_requires_token"] is True
    assert config["max_upload_size"] == "100M"
    assert config["url_preview_enabled"] is True


def test_url_previews_never_reach_private_addresses(three_hosts: Site) -> None:
    config = _synapse_config(_files(three_hosts, "hs1"))
    blacklist = [ipaddress.ip_network(n) for n in config["url_preview_ip_range_blacklist"]]
    must_cover = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "::1/128", "fe80::/10",
        "fc00::/7", "ff00::/8", "::ffff:0:0/96",
    ]  # fmt: skip
    for network in map(ipaddress.ip_network, must_cover):
        covered = any(
            network.version == b.version and network.subnet_of(b)  # type: ignore[arg-type]
            for b in blacklist
        )
        assert covered, f"{network} is not blacklisted"


def test_federation_off_talks_to_no_server(tmp_path: Path) -> None:
    config = {**BASE_CONFIG, "homeserver": {"host": "matrix.example.test", "federation": False}}
    site = _site(
        tmp_path, config, [HostView("hs1", "10.0.0.1", ("database", "homeserver", "proxy"))]
    )
    files = _files(site, "hs1")
    synapse = _synapse_config(files)
    assert synapse["federation_domain_whitelist"] == []
    assert synapse["listeners"][0]["resources"] == [{"names": ["client"], "compress": False}]
    assert (
        "/.well-known/matrix/server" not in files["/etc/nginx/sites-available/wmx-tls.conf"].content
    )


def test_log_config_is_valid_logging_config(one_host: Site) -> None:
    log = yaml.safe_load(_files(one_host, "hs1")["/etc/matrix-synapse/log.yaml"].content)
    assert log["version"] == 1
    assert log["root"] == {"level": "INFO", "handlers": ["console"]}
    assert log["handlers"]["console"]["class"] == "logging.StreamHandler"


def _unit(text: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def test_synapse_unit_runs_the_current_release_hardened(one_host: Site) -> None:
    unit = _unit(_files(one_host, "hs1")["/etc/systemd/system/matrix-synapse.service"].content)
    assert unit["ExecStart"] == [
        f"{SYNAPSE_CURRENT_LINK}/bin/python -m synapse.app.homeserver "
        "-c /etc/matrix-synapse/homeserver.yaml -c /etc/matrix-synapse/conf.d/"
    ]
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "User": "synapse",
        "Restart": "always",
        "Environment": "LD_PRELOAD=libjemalloc.so.2",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/synapse",
        "ProtectHome": "true",
        "PrivateTmp": "true",
        "NoNewPrivileges": "true",
    }
    for key, value in expected.items():
        assert unit.get(key) == [value], key
    assert "RestartSec" in unit
    assert "postgresql.service" in unit["After"]


def test_synapse_unit_does_not_wait_for_a_remote_database(three_hosts: Site) -> None:
    unit = _unit(_files(three_hosts, "hs1")["/etc/systemd/system/matrix-synapse.service"].content)
    assert "postgresql.service" not in unit["After"]
