"""The IRC bridge as `wmx irc` drives it, against a real Synapse, a real Heisenbridge
(registered with wmx's rendered registration) and a real IRC server (ngircd), on loopback:
settings from wmx.yaml reach the bridge, channels get plumbed, messages cross both ways.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.irc_rig import NETWORK, IrcRig
from tests.irc_client import IrcClient
from tests.irc_flows import MatrixUser, open_bouncer_channel, run
from wmx.admin.registration import register_user
from wmx.cli import app
from wmx.components.irc_bridge import relay_nick
from wmx.irc.manage import bridge_session, room_alias_for
from wmx.site import load_site
from wmx.site.config_edit import set_value

pytestmark = pytest.mark.integration

ZWSP = "\u200b"


def wmx(irc_rig: IrcRig, *args: str, expect: int = 0) -> str:
    result = CliRunner().invoke(
        app,
        ["--site", str(irc_rig.site.paths.root), *args],
        env={"WMX_ADMIN_URL": irc_rig.url, "COLUMNS": "200"},
    )
    output = result.stdout + result.stderr
    assert result.exit_code == expect, output
    for secret in irc_rig.site.secrets.values():
        assert secret not in output
    return output


def user(irc_rig: IrcRig, localpart: str) -> MatrixUser:
    password = secrets.token_urlsafe(12)
    registered = register_user(
        irc_rig.url, irc_rig.site.secrets.registration_shared_secret, localpart, password
    )
    return MatrixUser(irc_rig.url, registered.user_id, password, None)


def irc(irc_rig: IrcRig, nick: str) -> IrcClient:
    return IrcClient("127.0.0.1", irc_rig.irc.port, nick)


def test_sync_brings_wmx_yaml_into_the_bridge_and_is_idempotent(irc_rig: IrcRig) -> None:
    first = json.loads(wmx(irc_rig, "irc", "sync", "-o", "json"))["changes"]
    assert any(f"network {NETWORK}" in c for c in first)
    assert json.loads(wmx(irc_rig, "irc", "sync", "-o", "json"))["changes"] == []
    status = json.loads(wmx(irc_rig, "irc", "status", "-o", "json"))
    assert status["up"] is True
    assert status["owner"] == f"@wmx-admin:{irc_rig.site.config.server_name}"
    assert status["allowed"] == {f"@*:{irc_rig.site.config.server_name}": "user"}
    (network,) = status["networks"]
    assert network["name"] == NETWORK and network["matches"] is True


def test_a_changed_wmx_yaml_changes_the_bridge(irc_rig: IrcRig) -> None:
    paths = irc_rig.site.paths
    set_value(paths, "irc_bridge.admins", '["@boss:wmx.test"]', deployed=True)
    set_value(paths, "irc_bridge.relay.max_lines", "3", deployed=True)
    try:
        changes = json.loads(wmx(irc_rig, "irc", "sync", "-o", "json"))["changes"]
        assert "allowed @boss:wmx.test (admin)" in changes
        site = load_site(paths.root)
        with bridge_session(site, irc_rig.url) as manager:
            state = manager.bot.state()
        assert state.allow["@boss:wmx.test"] == "admin"
        assert state.config["max_lines"] == 3
    finally:
        set_value(paths, "irc_bridge.admins", "[]", deployed=True)
        set_value(paths, "irc_bridge.relay.max_lines", "5", deployed=True)
        wmx(irc_rig, "irc", "sync")


def test_plumb_to_an_unknown_network_changes_nothing(irc_rig: IrcRig) -> None:
    out = wmx(irc_rig, "irc", "plumb", "#nowhere", "--network", "efnet", expect=2)
    assert "unknown network 'efnet'" in out and NETWORK in out
    status = json.loads(wmx(irc_rig, "irc", "status", "-o", "json"))
    assert all(p["channel"] != "#nowhere" for n in status["networks"] for p in n["plumbed"])


def test_relay_mode_carries_messages_both_ways(irc_rig: IrcRig) -> None:
    ircuser = irc(irc_rig, "ircfan")
    ircuser.join("#relay")
    out = json.loads(wmx(irc_rig, "irc", "plumb", "#relay", "-o", "json"))
    (result,) = out
    assert result["outcome"] == "plumbed", result
    room_id = result["room_id"]
    # The relay joins the channel with its labelled nick and the operators' contact.
    relay = relay_nick(irc_rig.site.config)
    ircuser.wait_for(lambda line: line.startswith(f":{relay}!") and " JOIN " in line, "the relay")

    alias = room_alias_for(NETWORK, "#relay", irc_rig.site.config.server_name)
    bob = user(irc_rig, "bob")

    async def conversation() -> None:
        await bob.login()
        joined = await bob.join(alias)
        assert joined == room_id
        await bob.say(room_id, "hello IRC, from Matrix ✓")
        message = ircuser.wait_message("#relay", "hello IRC, from Matrix ✓")
        assert message.nick == relay
        # The Matrix sender's name, with a zero-width space so that it pings nobody.
        assert message.text.replace(ZWSP, "").startswith("<bob> ")
        assert ZWSP in message.text
        ircuser.say("#relay", "hello Matrix, from IRC — ça va")
        puppet = f"@irc_{NETWORK}_ircfan:{irc_rig.site.config.server_name}"
        await bob.wait_message(room_id, "hello Matrix, from IRC — ça va", sender=puppet)
        await bob.close()

    run(conversation())
    # Plumbing again changes nothing.
    again = json.loads(wmx(irc_rig, "irc", "plumb", "#relay", "-o", "json"))
    assert again[0]["outcome"] == "already plumbed" and again[0]["room_id"] == room_id
    ircuser.close()


def test_bouncer_mode_is_a_users_own_irc_connection(irc_rig: IrcRig) -> None:
    wmx(irc_rig, "irc", "sync")  # the network and who may use it (a deploy does this)
    ircuser = irc(irc_rig, "ircmate")
    ircuser.join("#bouncer")
    carol = user(irc_rig, "carol")
    bot = f"@heisenbridge:{irc_rig.site.config.server_name}"

    async def conversation() -> None:
        await carol.login()
        _, channel_room = await open_bouncer_channel(carol, bot, NETWORK, "#bouncer")
        await carol.say(channel_room, "first line\nsecond line, ünïcödé")
        first = ircuser.wait_message("#bouncer", "first line")
        second = ircuser.wait_message("#bouncer", "second line, ünïcödé")
        assert first.nick == second.nick == "carol"
        ircuser.say("#bouncer", "welcome, carol ☕")
        puppet = f"@irc_{NETWORK}_ircmate:{irc_rig.site.config.server_name}"
        await carol.wait_message(channel_room, "welcome, carol ☕", sender=puppet)
        await carol.close()

    run(conversation())
    ircuser.close()


def test_plumb_file_reports_per_channel_and_is_idempotent(irc_rig: IrcRig, tmp_path: Path) -> None:
    listing = tmp_path / "channels.yaml"
    listing.write_text('channels:\n  - "#wikimedia-xx"\n  - channel: "#wikipedia-xx-tech"\n')
    first = json.loads(wmx(irc_rig, "irc", "plumb-file", str(listing), "-o", "json"))
    assert [r["outcome"] for r in first] == ["plumbed", "plumbed"]
    second = json.loads(wmx(irc_rig, "irc", "plumb-file", str(listing), "-o", "json"))
    assert [r["outcome"] for r in second] == ["already plumbed", "already plumbed"]
    assert [r["room_id"] for r in second] == [r["room_id"] for r in first]

    bad = tmp_path / "bad.yaml"
    bad.write_text('- "#fine"\n- channel: "#other"\n  network: efnet\n')
    out = wmx(irc_rig, "irc", "plumb-file", str(bad), expect=2)
    assert "entry 2" in out and "unknown network 'efnet'" in out


def test_unplumb_lets_the_channel_go(irc_rig: IrcRig) -> None:
    wmx(irc_rig, "irc", "plumb", "#goodbye")
    out = json.loads(wmx(irc_rig, "irc", "unplumb", "#goodbye", "-o", "json"))
    assert out[0]["outcome"] == "unplumbed"
    out = json.loads(wmx(irc_rig, "irc", "unplumb", "#goodbye", "-o", "json"))
    assert out[0]["outcome"] == "not plumbed"


def test_plumbed_rooms_survive_a_bridge_restart(irc_rig: IrcRig) -> None:
    ircuser = irc(irc_rig, "stayer")
    ircuser.join("#durable")
    (result,) = json.loads(wmx(irc_rig, "irc", "plumb", "#durable", "-o", "json"))
    relay = relay_nick(irc_rig.site.config)

    def relay_join(line: str) -> bool:
        return line.startswith(f":{relay}!") and " JOIN " in line

    # Heisenbridge joins the channel only after it saved the plumbing (which is what
    # `plumb` waits for): wait for that JOIN, or it could pass for the rejoin below.
    ircuser.wait_for(relay_join, "the relay to join #durable")
    start = len(ircuser.lines)  # from here on: what the restart brings
    irc_rig.restart_bridge()
    # Back when the relay has rejoined the channel (what a restart looks like on IRC):
    # its old connection's QUIT, then a JOIN. Heisenbridge drops what Matrix users say
    # while the relay is disconnected.
    quit_seen: list[str] = []

    def rejoined(line: str) -> bool:
        if line.startswith(f":{relay}!") and " QUIT " in line:
            quit_seen.append(line)
        return bool(quit_seen) and relay_join(line)

    ircuser.wait_for(rejoined, "the relay to quit and rejoin", timeout=120, start=start)
    dave = user(irc_rig, "dave")

    async def conversation() -> None:
        await dave.login()
        await dave.join(result["room_id"])
        await dave.say(result["room_id"], "still bridged after a restart")
        ircuser.wait_message("#durable", "still bridged after a restart", timeout=120)
        await dave.close()

    run(conversation())
    ircuser.close()
