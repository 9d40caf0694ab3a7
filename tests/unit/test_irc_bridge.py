"""The IRC bridge without any host: its settings and their error messages, the inventory
rules, the files it renders (and what it adds to Synapse, nginx and the firewall), the
bridge state wmx reads, channel lists, and the CLI's checks before anything is changed."""

from __future__ import annotations

import json
import shutil
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from wmx.cli import app
from wmx.components.irc_bridge import allow_masks, irc_bridge_view, relay_nick, relay_realname
from wmx.errors import InputError
from wmx.irc.bot import Replies, quote
from wmx.irc.channels import parse_channel_file
from wmx.irc.manage import check_channel, check_network, room_alias_for
from wmx.irc.state import digest, parse_state
from wmx.render import render_site
from wmx.render.role_vars import role_vars
from wmx.resources import data_dir
from wmx.site import Site, SitePaths, load_site
from wmx.site.inventory import load_topology
from wmx.site.model import DEFAULT_HEISENBRIDGE_VERSION, SiteConfig
from wmx.site.secrets import Secrets, write_secrets
from wmx.site.topology import HostView, Topology
from wmx.site.validation import validate_document
from wmx.site.yamlfile import round_trip_yaml

SECRETS = Secrets(**{f.name: f"test-{f.name.replace('_', '-')}-0000" for f in fields(Secrets)})
BASE: dict[str, Any] = {
    "server_name": "example.test",
    "homeserver": {"host": "matrix.example.test"},
    "web_client": {"host": "element.example-web.test"},
    "contacts": {"admin_email": "admin@example.test"},
    "acme": {"email": "acme@example.test"},
}


def config(**irc: Any) -> SiteConfig:
    return SiteConfig.model_validate({**BASE, **({"irc_bridge": irc} if irc else {})})


def site(tmp_path: Path, hosts: list[HostView], **irc: Any) -> Site:
    root = tmp_path / "site"
    root.mkdir(exist_ok=True)
    write_secrets(root / "secrets.yml", SECRETS)
    return Site(paths=SitePaths(root), config=config(**irc), topology=Topology(tuple(hosts)))


ONE_HOST = [HostView("hs1", "10.0.0.12", ("database", "homeserver", "irc_bridge", "proxy"))]
SPLIT = [
    HostView("db1", "10.0.0.11", ("database",)),
    HostView("hs1", "10.0.0.12", ("homeserver", "irc_bridge")),
    HostView("proxy1", "10.0.0.13", ("proxy",)),
]


def files(s: Site, host: str) -> dict[str, str]:
    return {f.dest: f.content for f in render_site(s)[host]}


def check(data: dict[str, Any]) -> str:
    """The error wmx.yaml `data` gets, as an operator reads it."""
    with pytest.raises(InputError) as caught:
        validate_document(SiteConfig, round_trip_yaml().load(yaml.safe_dump(data)), Path("w.yaml"))
    return str(caught.value)


# --- settings ---------------------------------------------------------------------


def test_defaults_are_libera_over_tls_with_sasl_and_safe_relay_settings() -> None:
    settings = config().irc_bridge
    (libera,) = settings.networks
    assert (libera.name, str(libera.servers[0]), libera.sasl) == (
        "libera",
        "irc.libera.chat:6697:tls",
        True,
    )
    assert settings.version == DEFAULT_HEISENBRIDGE_VERSION
    relay = settings.relay
    assert (relay.zero_width_space, relay.max_lines, relay.pastebin) == (True, 5, True)
    assert (relay.tag, relay.displaynames) == ("m", True)
    assert allow_masks(config()) == {"@*:example.test": "user"}


def test_wmx_yaml_template_pins_the_tested_heisenbridge() -> None:
    text = (data_dir("inventories") / "chapter" / "wmx.yaml").read_text()
    assert f"  version: {DEFAULT_HEISENBRIDGE_VERSION}\n" in text


@pytest.mark.parametrize(
    ("irc", "message"),
    [
        ({"networks": [{"name": "x", "servers": ["irc.x.org"]}]}, "is not host:port"),
        ({"networks": [{"name": "x", "servers": ["irc.x.org:6697:ssl"]}]}, "host:port:tls"),
        ({"networks": [{"name": "X y", "servers": ["a.b.c:1"]}]}, "is not a network name"),
        ({"networks": [{"name": "x", "servers": []}]}, "at least 1"),
        (
            {"networks": [{"name": "x", "servers": ["a.b.c:1"]}] * 2},
            "network names must be unique; repeated: x",
        ),
        ({"allowed_users": ["alice"]}, "is not a Matrix user id or mask"),
        ({"admins": ["@bob"]}, "is not a Matrix user id or mask"),
        ({"relay": {"nick": "9lives"}}, "is not an IRC nick"),
        ({"relay": {"nick": "a" * 17}}, "at most 16"),
        ({"relay": {"tag": "a b"}}, "letters, digits"),
        ({"relay": {"max_lines": -1}}, "greater than or equal to 0"),
        ({"version": "latest"}, "is not a Heisenbridge release"),
        ({"identd": False}, "unknown key"),
    ],
)
def test_bad_settings_say_what_is_wrong_and_where(irc: dict[str, Any], message: str) -> None:
    error = check({**BASE, "irc_bridge": irc})
    assert "w.yaml" in error and "irc_bridge" in error and message in error


def test_networks_without_a_homeserver_is_a_clear_error() -> None:
    data = {k: v for k, v in BASE.items() if k != "homeserver"}
    data["irc_bridge"] = {"networks": [{"name": "libera", "servers": ["irc.libera.chat:6697"]}]}
    error = check(data)
    assert "irc_bridge.networks needs a homeserver" in error
    assert "homeserver.host" in error


def test_relay_nick_and_realname_are_derived_and_fit_irc_limits() -> None:
    assert relay_nick(config()) == "example-matrix"
    long = SiteConfig.model_validate(
        {**BASE, "server_name": "wikimedia-deutschland.example", "contacts": {
            "admin_email": "very-long-contact-address@wikimedia-deutschland.example"}}
    )  # fmt: skip
    assert relay_nick(long) == "wikimedia-matrix" and len(relay_nick(long)) <= 16
    assert len(relay_realname(long)) <= 50
    assert "very-long-contact-address@" in relay_realname(long)
    assert relay_realname(config()) == "Matrix bridge of example.test; admin@example.test"
    assert relay_nick(config(relay={"nick": "wmde-relay"})) == "wmde-relay"


def test_admins_are_admin_masks_besides_the_allowed_users() -> None:
    masks = allow_masks(
        config(allowed_users=["@*:example.test", "@guest:other.org"], admins=["@boss:example.test"])
    )
    assert masks == {
        "@*:example.test": "user",
        "@guest:other.org": "user",
        "@boss:example.test": "admin",
    }


# --- inventory ------------------------------------------------------------------


def _inventory(tmp_path: Path, groups: dict[str, list[str]]) -> Path:
    hosts = sorted({h for members in groups.values() for h in members})
    doc = {
        "all": {
            "hosts": {h: {"ansible_host": f"10.0.0.{i + 10}"} for i, h in enumerate(hosts)},
            "children": {g: {"hosts": {h: None for h in m}} for g, m in groups.items()},
        }
    }
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_bridge_without_homeserver_host_is_a_clear_error(tmp_path: Path) -> None:
    path = _inventory(tmp_path, {"database": ["a"], "proxy": ["a"], "irc_bridge": ["a"]})
    with pytest.raises(InputError, match=r"irc_bridge.*needs a homeserver"):
        load_topology(path)


def test_bridge_must_run_on_the_homeservers_host(tmp_path: Path) -> None:
    path = _inventory(
        tmp_path,
        {"database": ["a"], "homeserver": ["a"], "proxy": ["b"], "irc_bridge": ["b"]},
    )
    with pytest.raises(InputError, match="must hold the homeserver's host \\(a\\), not b"):
        load_topology(path)


def test_bridge_is_optional(tmp_path: Path) -> None:
    path = _inventory(tmp_path, {"database": ["a"], "homeserver": ["a"], "proxy": ["a"]})
    topology = load_topology(path)
    assert topology.bridge_host is None


def test_example_sites_run_the_bridge_beside_synapse(tmp_path: Path) -> None:
    for example, host in (("chapter", "matrix"), ("sre", "hs1")):
        target = tmp_path / example
        shutil.copytree(data_dir("inventories") / example, target)
        write_secrets(target / "secrets.yml", Secrets.generate())
        loaded = load_site(target)
        assert loaded.topology.bridge_host is not None
        assert loaded.topology.bridge_host.name == host


# --- rendering ----------------------------------------------------------------------


def test_one_host_renders_the_bridge_and_registers_it_with_synapse(tmp_path: Path) -> None:
    s = site(tmp_path, ONE_HOST)
    out = files(s, "hs1")
    for copy in (
        "/etc/heisenbridge/registration.yaml",
        "/etc/matrix-synapse/appservices/heisenbridge.yaml",
    ):
        registration = yaml.safe_load(out[copy])
        assert registration["as_token"] == SECRETS.irc_bridge_as_token
        assert registration["hs_token"] == SECRETS.irc_bridge_hs_token
        assert registration["url"] == "http://127.0.0.1:9898"
        assert registration["sender_localpart"] == "heisenbridge"
        assert registration["namespaces"]["users"] == [
            {"regex": "@irc_.*:example\\.test", "exclusive": True}
        ]
        assert registration["heisenbridge"]["media_url"] == "https://matrix.example.test"
    homeserver = yaml.safe_load(out["/etc/matrix-synapse/homeserver.yaml"])
    assert homeserver["app_service_config_files"] == [
        "/etc/matrix-synapse/appservices/heisenbridge.yaml"
    ]
    unit = out["/etc/systemd/system/heisenbridge.service"]
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    # The unit runs the `current` link (the role points it at the release's venv;
    # `wmx upgrade` switches it).
    assert exec_start.startswith("ExecStart=/opt/heisenbridge/current/bin/heisenbridge ")
    assert " -i --identd-port 113 " in exec_start
    assert " -o @wmx-admin:example.test " in exec_start
    assert exec_start.endswith(" http://127.0.0.1:8008")
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in unit
    assert "tcp dport 113 accept" in out["/etc/nftables.conf"]
    nginx = out["/etc/nginx/sites-available/wmx-tls.conf"]
    assert "location ^~ /_heisenbridge/media/ {\n        proxy_pass http://127.0.0.1:9898;" in nginx


def test_registration_files_are_secret_and_readable_only_by_their_reader(tmp_path: Path) -> None:
    rendered = {f.dest: f for f in render_site(site(tmp_path, ONE_HOST))["hs1"]}
    bridge = rendered["/etc/heisenbridge/registration.yaml"]
    synapse = rendered["/etc/matrix-synapse/appservices/heisenbridge.yaml"]
    assert (bridge.secret, bridge.mode, bridge.owner, bridge.group) == (
        True, "0640", "root", "heisenbridge",
    )  # fmt: skip
    assert (synapse.secret, synapse.mode, synapse.group) == (True, "0640", "synapse")
    for f in rendered.values():
        if not f.secret:
            assert SECRETS.irc_bridge_as_token not in f.content
            assert SECRETS.irc_bridge_hs_token not in f.content


def test_without_the_bridge_nothing_of_it_is_rendered(tmp_path: Path) -> None:
    host = HostView("hs1", "10.0.0.12", ("database", "homeserver", "proxy"))
    out = files(site(tmp_path, [host]), "hs1")
    assert not [d for d in out if "heisenbridge" in d]
    assert "app_service_config_files" not in out["/etc/matrix-synapse/homeserver.yaml"]
    assert "_heisenbridge" not in out["/etc/nginx/sites-available/wmx-tls.conf"]
    assert "dport 113" not in out["/etc/nftables.conf"]


def test_split_layout_lets_only_the_proxy_reach_the_bridge(tmp_path: Path) -> None:
    s = site(tmp_path, SPLIT)
    hs1 = files(s, "hs1")
    registration = yaml.safe_load(hs1["/etc/heisenbridge/registration.yaml"])
    assert registration["url"] == "http://10.0.0.12:9898"
    assert "ip saddr 10.0.0.13 tcp dport 9898 accept" in hs1["/etc/nftables.conf"]
    assert "tcp dport 113 accept" in hs1["/etc/nftables.conf"]
    proxy = files(s, "proxy1")["/etc/nginx/sites-available/wmx-tls.conf"]
    assert "proxy_pass http://10.0.0.12:9898;" in proxy
    assert "dport 113" not in files(s, "proxy1")["/etc/nftables.conf"]


def test_role_vars_name_the_release_and_both_registrations(tmp_path: Path) -> None:
    s = site(tmp_path, ONE_HOST)
    values = role_vars(s, s.topology, s.topology.hosts[0])
    assert values["wmx_components"].index("irc_bridge") > values["wmx_components"].index("synapse")
    assert values["irc_bridge_version"] == DEFAULT_HEISENBRIDGE_VERSION
    assert values["irc_bridge_venv"] == f"/opt/heisenbridge/venvs/{DEFAULT_HEISENBRIDGE_VERSION}"
    assert values["irc_bridge_url"] == "http://127.0.0.1:9898"
    assert values["irc_bridge_registration"] == "/etc/heisenbridge/registration.yaml"
    assert not any(SECRETS.irc_bridge_as_token in str(v) for v in values.values())


def test_view_is_none_without_the_group() -> None:
    topology = Topology((HostView("a", "10.0.0.1", ("database", "homeserver", "proxy")),))
    assert irc_bridge_view(config(), topology) is None


# --- the bridge's state, commands, channel lists ------------------------------------


def test_state_keeps_no_secret_of_any_user() -> None:
    data = {
        "account_data": {
            "global": {"irc": {"networks": {"libera": {"servers": [
                {"address": "irc.libera.chat", "port": 6697, "tls": True}]}},
                "allow": {"@*:x.test": "user"}, "owner": "@wmx-admin:x.test",
                "media_key": "SECRET-MEDIA"}},
            "rooms": {
                "!net:x.test": {"irc": {"type": "NetworkRoom", "user_id": "@a:x.test",
                    "name": "libera", "connected": True, "sasl_password": "SECRET-SASL",
                    "password": "SECRET-PASS", "tls_cert": "SECRET-CERT", "autocmd": "SECRET"}},
                "!plumb:x.test": {"irc": {"type": "PlumbedRoom", "user_id": "@a:x.test",
                    "name": "#chan", "network_id": "!net:x.test"}},
                "!gone:x.test": {"irc": {"type": "ControlRoom", "user_id": "@a:x.test"}},
            },
        }
    }  # fmt: skip
    state = parse_state(data, {"!net:x.test", "!plumb:x.test"})
    assert "SECRET" not in json.dumps(
        {"c": state.config, "r": [r.settings for r in state.rooms.values()]}
    )
    room = state.network_room("@a:x.test", "LIBERA")
    assert room is not None and room.sasl_password_digest == digest("SECRET-SASL")
    assert str(state.networks["libera"][0]) == "irc.libera.chat:6697:tls"
    assert list(state.plumbed(room)) == ["#chan"]
    assert state.control_room("@a:x.test") is None  # the bot left it
    assert [r.user_id for r in state.connections("libera")] == ["@a:x.test"]


def test_commands_are_quoted_for_the_bots_parser() -> None:
    import shlex

    words = ["REALNAME", "Matrix bridge of x.test, contact a@x.test; DELNETWORK libera"]
    assert shlex.split(quote(*words)) == words
    replies = Replies(["Server added.", "Network does not exist"])
    assert replies.failure() == "Network does not exist"
    assert Replies(["Mask added."]).failure() is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [("#wikimedia-de", "#wikimedia-de"), ("wikipedia-de-tech", "#wikipedia-de-tech")],
)
def test_channel_names(given: str, expected: str) -> None:
    assert check_channel(given) == expected


@pytest.mark.parametrize("bad", ["#a b", "#a,b", "#", "#" + "x" * 50, "#a:b"])
def test_bad_channel_names(bad: str) -> None:
    with pytest.raises(ValueError, match="is not an IRC channel name"):
        check_channel(bad)


def test_room_alias_for_a_channel() -> None:
    assert (
        room_alias_for("libera", "#Wikimedia-DE", "example.org")
        == "#libera_wikimedia-de:example.org"
    )


def test_channel_file_is_checked_as_a_whole(tmp_path: Path) -> None:
    s = site(tmp_path, ONE_HOST, networks=[
        {"name": "libera", "servers": ["irc.libera.chat:6697:tls"]},
        {"name": "oftc", "servers": ["irc.oftc.net:6697:tls"]},
    ])  # fmt: skip
    good = tmp_path / "channels.yaml"
    good.write_text(
        'network: libera\nchannels:\n  - "#wikimedia-de"\n'
        '  - channel: "#wikipedia-de-tech"\n    room: "#technik:example.test"\n'
        '  - channel: "#debian"\n    network: oftc\n'
    )
    entries = parse_channel_file(good, s)
    assert [(e.channel, e.network, e.room) for e in entries] == [
        ("#wikimedia-de", "libera", None),
        ("#wikipedia-de-tech", "libera", "#technik:example.test"),
        ("#debian", "oftc", None),
    ]
    bare = tmp_path / "bare.yaml"
    bare.write_text('- "#one"\n- two\n')
    assert [e.channel for e in parse_channel_file(bare, s)] == ["#one", "#two"]
    for text, message in [
        ('- "#a"\n- channel: "#b"\n  network: efnet\n', "entry 2: unknown network 'efnet'"),
        ('- "#a"\n- "#A"\n', "entry 2: #A on libera is listed twice"),
        ('- channel: "#a"\n  room: "nope"\n', "entry 1: 'nope' is neither a room id"),
        ("- {chan: x}\n", "entry 1: unknown key(s) chan"),
        ("channels: []\n", "expected a list of channels"),
        ("[unclosed\n", "not YAML"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(InputError, match=message.replace("(", "\\(").replace(")", "\\)")):
            parse_channel_file(bad, s)


def test_check_network_names_the_known_ones(tmp_path: Path) -> None:
    s = site(tmp_path, ONE_HOST)
    assert check_network(s, None).name == "libera"
    with pytest.raises(InputError, match="unknown network 'efnet'; this site's networks: libera"):
        check_network(s, "efnet")


# --- the CLI, before anything is contacted -------------------------------------------


def _example(tmp_path: Path, bridge: bool = True) -> Path:
    target = tmp_path / "chapter"
    shutil.copytree(data_dir("inventories") / "chapter", target)
    write_secrets(target / "secrets.yml", Secrets.generate())
    if not bridge:
        inventory = target / "inventory.yml"
        inventory.write_text(inventory.read_text().split("    irc_bridge:\n")[0])
    return target


def _wmx(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout + result.stderr


def test_cli_networks_lists_what_wmx_yaml_says(tmp_path: Path) -> None:
    root = _example(tmp_path)
    code, out = _wmx("--site", str(root), "irc", "networks", "-o", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["networks"] == [
        {"name": "libera", "servers": ["irc.libera.chat:6697:tls"], "sasl": True}
    ]
    assert data["relay_nick"] == "example-matrix"
    assert data["owner"] == "@wmx-admin:example.org"
    code, out = _wmx("--site", str(root), "irc", "networks")
    assert code == 0, out
    assert "libera" in out and "irc.libera.chat:6697:tls" in out
    assert "Relay nick: example-matrix" in out and "@wmx-admin:example.org" in out


def test_cli_refuses_unknown_networks_and_bad_channels_before_connecting(tmp_path: Path) -> None:
    root = _example(tmp_path)
    code, out = _wmx("--site", str(root), "irc", "plumb", "#x", "--network", "efnet")
    assert code == 2 and "unknown network 'efnet'" in out
    code, out = _wmx("--site", str(root), "irc", "plumb", "#a b")
    assert code == 2 and "is not an IRC channel name" in out
    code, out = _wmx("--site", str(root), "irc", "unplumb", "#x", "--network", "efnet")
    assert code == 2 and "unknown network" in out


def test_cli_on_a_site_without_the_bridge_says_how_to_switch_it_on(tmp_path: Path) -> None:
    root = _example(tmp_path, bridge=False)
    code, out = _wmx("--site", str(root), "irc", "status")
    assert code == 2 and "no IRC bridge" in out and "group irc_bridge" in out
