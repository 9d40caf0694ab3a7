"""Element Web (its config.json, nginx serving it, the release archive) and calls through
coturn, as rendered from the site (issue 5); helpers shared with test_chat_render."""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.unit.test_chat_render import (
    SECRETS,
    _config,
    _files,
    _refused,
    _site,
    _synapse,
)
from tests.unit.test_nginx_render import gzip_types
from wmx.components.nginx import public_names
from wmx.errors import InputError
from wmx.lab.element import LAB_ELEMENT_VERSION, write_standin_archive
from wmx.render import render_site
from wmx.render.role_vars import role_vars
from wmx.site.element_release import element_release
from wmx.site.model import DEFAULT_ELEMENT_SHA256, DEFAULT_ELEMENT_VERSION
from wmx.site.topology import HostView

# --- Element Web --------------------------------------------------------------------------------


def test_element_config_json_says_what_the_site_says(tmp_path: Path) -> None:
    site = _site(
        tmp_path,
        element={
            "brand": "Chapter Chat",
            "room_directory_servers": ["example.test", "matrix.org"],
            "jitsi_domain": "meet.example.test",
            "element_call_url": "https://call.example.test",
            "identity_server": "https://id.example.test",
            "default_theme": "dark",
        },
    )
    files = _files(site)
    config = json.loads(files["/etc/wmx/element/config.json"].content)
    assert config["default_server_config"] == {
        "m.homeserver": {"base_url": "https://matrix.example.test", "server_name": "example.test"},
        "m.identity_server": {"base_url": "https://id.example.test"},
    }
    assert config["brand"] == "Chapter Chat"
    assert config["room_directory"] == {"servers": ["example.test", "matrix.org"]}
    assert config["jitsi"] == {"preferred_domain": "meet.example.test"}
    assert config["element_call"] == {"url": "https://call.example.test"}
    assert config["default_theme"] == "dark"
    assert config["integrations_ui_url"] == config["integrations_rest_url"] == ""
    nginx = files["/etc/nginx/sites-available/wmx-tls.conf"].content
    client = "/etc/wmx/nginx/well-known/matrix-client.json"
    assert f"alias {client};" in nginx.split("location = /.well-known/matrix/client")[1]
    well_known = json.loads(files[client].content)
    assert well_known == {
        "m.homeserver": {"base_url": "https://matrix.example.test"},
        "m.identity_server": {"base_url": "https://id.example.test"},
        "im.vector.riot.jitsi": {"preferredDomain": "meet.example.test"},
    }


def test_element_config_defaults_keep_third_parties_out(tmp_path: Path) -> None:
    config = json.loads(_files(_site(tmp_path))["/etc/wmx/element/config.json"].content)
    assert config["integrations_ui_url"] == "" and config["integrations_widgets_urls"] == []
    assert "jitsi" not in config and "element_call" not in config
    assert "m.identity_server" not in config["default_server_config"]
    assert config["disable_guests"] is True
    assert config["setting_defaults"]["UIFeature.registration"] is False
    assert config["show_labs_settings"] is False


def _server_block(nginx: str, name: str) -> str:
    block = nginx.split(f"server_name {name};")[1]
    return block.split("\nserver {")[0]


def test_nginx_serves_element_on_its_own_name_with_its_headers(tmp_path: Path) -> None:
    files = _files(_site(tmp_path))
    nginx = files["/etc/nginx/sites-available/wmx-tls.conf"].content
    block = _server_block(nginx, "element.example-web.test")
    assert "root /opt/element/current;" in block
    for config_name in ("config.json", "config.element.example-web.test.json"):
        assert f"location = /{config_name} {{\n        alias /etc/wmx/element/config.json;" in block
    # Every location repeats the headers (nginx drops inherited add_header there).
    locations = len(re.findall(r"^\s+location ", block, re.M))
    for header in (
        "add_header X-Frame-Options SAMEORIGIN always;",
        "add_header X-Content-Type-Options nosniff always;",
        "add_header Content-Security-Policy \"frame-ancestors 'self'\" always;",
    ):
        assert block.count(header) == locations, header
    # HSTS, also at the server level.
    assert block.count("add_header Strict-Transport-Security") == locations + 1
    no_cache = 'add_header Cache-Control "no-cache"'
    assert f"location ~ ^/(index\\.html|version|sw\\.js)$ {{\n        {no_cache}" in block
    assert "element.example-web.test" not in _server_block(nginx, "matrix.example.test")
    # Its scripts, styles, translations and WebAssembly compressed (Debian's nginx
    # compresses text/html only).
    assert {"application/javascript", "text/css", "application/json", "application/wasm"} <= (
        gzip_types(block)
    )


def test_web_client_name_joins_the_certificate_only_with_element(tmp_path: Path) -> None:
    on = _site(tmp_path)
    assert public_names(on) == [
        "example.test",
        "matrix.example.test",
        "element.example-web.test",
    ]
    (host,) = on.topology.hosts
    assert role_vars(on, on.topology, host)["nginx_tls_domains"][-1] == "element.example-web.test"
    off = _site(tmp_path, hosts=[HostView("hs1", "10.0.0.11", ("database", "homeserver", "proxy"))])
    assert public_names(off) == ["example.test", "matrix.example.test"]
    files = _files(off)
    assert "/etc/wmx/element/config.json" not in files
    assert (
        "element.example-web.test" not in files["/etc/nginx/sites-available/wmx-tls.conf"].content
    )


# --- the Element release archive -------------------------------------------------------------


def test_pinned_release_is_downloaded_and_checked(tmp_path: Path) -> None:
    release = element_release(_config(), tmp_path)
    assert (release.version, release.sha256) == (DEFAULT_ELEMENT_VERSION, DEFAULT_ELEMENT_SHA256)
    assert release.url == (
        f"https://github.com/element-hq/element-web/releases/download/v{DEFAULT_ELEMENT_VERSION}"
        f"/element-v{DEFAULT_ELEMENT_VERSION}.tar.gz"
    )
    assert release.archive is None
    assert release.name == f"{DEFAULT_ELEMENT_VERSION}-{DEFAULT_ELEMENT_SHA256[:12]}"
    other = element_release(
        _config(web_client={"version": "1.12.30", "sha256": "ab" * 32}), tmp_path
    )
    assert (other.version, other.sha256) == ("1.12.30", "ab" * 32)


def test_another_version_needs_its_checksum() -> None:
    _refused(
        "web_client.version 1.12.30 needs web_client.sha256", web_client={"version": "1.12.30"}
    )
    _refused("is not a SHA-256", web_client={"version": "1.12.30", "sha256": "abc"})


def test_local_archive_gives_version_and_checksum(tmp_path: Path) -> None:
    archive = write_standin_archive(tmp_path / "site" / "archives")
    # Relative to the site directory.
    release = element_release(
        _config(web_client={"archive": "archives/" + archive.name}), tmp_path / "site"
    )
    assert release.version == LAB_ELEMENT_VERSION
    assert release.url is None and release.archive == archive
    assert release.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    # The same bytes every time: a second deploy changes nothing.
    assert write_standin_archive(tmp_path / "again").read_bytes() == archive.read_bytes()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"sha256": "0" * 64}, "its SHA-256 is"),
        ({"version": "1.12.25"}, f"holds Element Web {LAB_ELEMENT_VERSION}, but web_client."),
    ],
)
def test_local_archive_that_does_not_match_is_refused(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    archive = write_standin_archive(tmp_path)
    with pytest.raises(InputError) as info:
        element_release(_config(web_client={"archive": str(archive), **settings}), tmp_path)
    assert message in str(info.value)


def test_something_else_than_a_release_archive_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tar.gz"
    with tarfile.open(bogus, "w:gz") as archive:
        archive.add(__file__, arcname="webapp/index.js")
    with pytest.raises(InputError, match="not a web client release archive"):
        element_release(_config(web_client={"archive": str(bogus)}), tmp_path)
    with pytest.raises(InputError, match="no such file"):
        element_release(_config(web_client={"archive": str(tmp_path / "none.tar.gz")}), tmp_path)
    (tmp_path / "text.tar.gz").write_text("not gzip")
    with pytest.raises(InputError, match=r"not a \.tar\.gz archive"):
        element_release(_config(web_client={"archive": str(tmp_path / "text.tar.gz")}), tmp_path)


def test_element_vars_name_the_release(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (host,) = site.topology.hosts
    values = role_vars(site, site.topology, host)
    assert values["element_version"] == LAB_ELEMENT_VERSION
    assert values["element_release"].startswith(f"{LAB_ELEMENT_VERSION}-")
    assert values["element_url"] == "" and values["element_archive"].endswith(".tar.gz")
    assert values["element_current_link"] == "/opt/element/current"
    assert values["element_previous_link"] == "/opt/element/previous"
    assert "element" in values["wmx_components"] and "turn" in values["wmx_components"]


# --- calls: coturn -----------------------------------------------------------------------------


def _conf(text: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_coturn_shares_its_secret_with_synapse_and_relays_only_to_public_peers(
    tmp_path: Path,
) -> None:
    files = _files(_site(tmp_path))
    turnserver = files["/etc/turnserver.conf"]
    assert (turnserver.secret, turnserver.mode, turnserver.group) == (True, "0640", "turnserver")
    conf = _conf(turnserver.content)
    assert conf["static-auth-secret"] == [SECRETS.turn_shared_secret]
    assert "use-auth-secret" in conf and "no-tcp-relay" in conf and "no-multicast-peers" in conf
    assert conf["realm"] == ["example.test"]
    assert conf["listening-port"] == ["3478"] and conf["tls-listening-port"] == ["5349"]
    assert conf["cert"] == ["/etc/coturn/tls/fullchain.pem"]
    assert (conf["min-port"], conf["max-port"]) == (["49152"], ["65535"])
    assert conf["allowed-peer-ip"] == ["10.0.0.11"]
    denied = conf["denied-peer-ip"]
    for private in ("10.0.0.0-10.255.255.255", "127.0.0.0-127.255.255.255",
                    "172.16.0.0-172.31.255.255", "192.168.0.0-192.168.255.255",
                    "169.254.0.0-169.254.255.255", "::1",
                    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"):  # fmt: skip
        assert private in denied, private
    config = _synapse(files)
    assert config["turn_uris"] == [
        "turn:matrix.example.test:3478?transport=udp",
        "turn:matrix.example.test:3478?transport=tcp",
        "turns:matrix.example.test:5349?transport=tcp",
    ]
    assert config["turn_shared_secret"] == SECRETS.turn_shared_secret
    assert config["turn_user_lifetime"] == "1h" and config["turn_allow_guests"] is False
    homeserver = yaml.safe_load(files["/etc/matrix-synapse/homeserver.yaml"].content)
    assert "turn_shared_secret" not in homeserver
    hook = files["/etc/letsencrypt/renewal-hooks/deploy/wmx-coturn-certificate"]
    assert hook.mode == "0755" and "systemctl restart coturn.service" in hook.content


def test_firewall_opens_turn_and_its_relay_ports_on_the_turn_host(tmp_path: Path) -> None:
    site = _site(tmp_path, turn={"relay_min_port": 50000, "relay_max_port": 50100})
    nft = _files(site)["/etc/nftables.conf"].content
    for rule in ("tcp dport 3478 accept", "tcp dport 5349 accept", "udp dport 3478 accept",
                 "udp dport 5349 accept", "udp dport 50000-50100 accept"):  # fmt: skip
        assert f"\t\t{rule}\n" in nft, rule
    (host,) = site.topology.hosts
    assert {3478, 5349} <= set(role_vars(site, site.topology, host)["base_firewall_tcp_ports"])


def test_turn_without_tls_and_on_its_own_name(tmp_path: Path) -> None:
    site = _site(
        tmp_path, turn={"tls": False, "host": "turn.example.test", "external_ip": "192.0.2.5"}
    )
    files = _files(site)
    conf = _conf(files["/etc/turnserver.conf"].content)
    assert "no-tls" in conf and "cert" not in conf
    assert conf["external-ip"] == ["192.0.2.5"] and conf["allowed-peer-ip"] == ["192.0.2.5"]
    assert _synapse(files)["turn_uris"] == [
        "turn:turn.example.test:3478?transport=udp",
        "turn:turn.example.test:3478?transport=tcp",
    ]
    assert "udp dport 5349" not in files["/etc/nftables.conf"].content
    # Its own name joins the certificate only with TLS.
    assert "turn.example.test" not in public_names(site)
    tls = _site(tmp_path, turn={"host": "turn.example.test"})
    assert public_names(tls)[-1] == "turn.example.test"


def test_turn_over_tls_needs_the_proxys_certificate(tmp_path: Path) -> None:
    hosts = [
        HostView("hs1", "10.0.0.12", ("database", "homeserver", "turn")),
        HostView("proxy1", "10.0.0.13", ("proxy", "element")),
    ]
    # Refused when the site is loaded, before anything is rendered.
    with pytest.raises(InputError, match=r"put the proxy host in group 'turn', or set turn\.tls"):
        _site(tmp_path, hosts=hosts)
    rendered = render_site(_site(tmp_path, hosts=hosts, turn={"tls": False}))
    assert "/etc/turnserver.conf" in {f.dest for f in rendered["hs1"]}
    assert "/etc/turnserver.conf" not in {f.dest for f in rendered["proxy1"]}


def test_turn_relay_range_must_be_a_range() -> None:
    _refused(
        "turn.relay_min_port (60000) is above",
        turn={"relay_min_port": 60000, "relay_max_port": 50000},
    )


def test_turn_and_element_off_render_nothing_of_theirs(tmp_path: Path) -> None:
    site = _site(
        tmp_path, hosts=[HostView("hs1", "10.0.0.11", ("database", "homeserver", "proxy"))]
    )
    files = _files(site)
    assert "/etc/turnserver.conf" not in files
    assert "turn_uris" not in _synapse(files)
    assert "udp dport" not in files["/etc/nftables.conf"].content
    (host,) = site.topology.hosts
    assert not [
        k for k in role_vars(site, site.topology, host) if k.startswith(("element_", "turn_"))
    ]
