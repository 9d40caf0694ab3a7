"""The IRC bridge of the deployed site, against the lab's IRC network (ngircd on the
machine, irc.lab.test, over TLS with the lab CA), checked as IRC and Matrix users would:
bouncer mode, relay mode (`wmx irc plumb`), identd, and recovery from restarts of the IRC
server, Synapse and the bridge.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from base64 import b32encode
from collections.abc import Iterator

import pytest

from tests.e2e.clients import Account, create_account, https, wait_until
from tests.e2e.conftest import Deployed, wmx
from tests.irc_client import IrcClient
from tests.irc_flows import MatrixUser, open_bouncer_channel, run
from wmx.components.irc_bridge import relay_nick
from wmx.lab import ircd
from wmx.ops.lab_glue import LAB_IRC_NETWORK

BOUNCER_CHANNEL = "#wmx-test"
RELAY_CHANNEL = "#wmx-relay"
ZWSP = "\u200b"


@pytest.fixture(scope="module")
def lab_irc(deployed: Deployed) -> ircd.IrcServerConfig:
    server = deployed.lab.irc_server
    if not ircd.ready(server):
        pytest.fail(f"the lab's IRC server does not run (log: {ircd.daemon(server).logfile})")
    return server


def irc_client(deployed: Deployed, server: ircd.IrcServerConfig, nick: str) -> IrcClient:
    assert server.tls_port is not None
    return IrcClient(
        server.listen, server.tls_port, nick, tls_cafile=deployed.trust, server_name=server.name
    )


def matrix_user(deployed: Deployed, account: Account) -> MatrixUser:
    return MatrixUser(deployed.homeserver_url, account.user_id, account.password, deployed.trust)


def server_name(deployed: Deployed) -> str:
    return deployed.site.config.server_name


def puppet(deployed: Deployed, nick: str) -> str:
    return f"@irc_{LAB_IRC_NETWORK}_{nick}:{server_name(deployed)}"


def heisenbridge_ident(user_id: str) -> str:
    """The ident Heisenbridge gives a Matrix user's connection (its own formula)."""
    digest = b32encode(hashlib.sha1(user_id.encode()).digest()).decode()
    return "m-" + digest.replace("=", "")[:6].lower()


@pytest.fixture(scope="module")
def relay_room(deployed: Deployed, lab_irc: ircd.IrcServerConfig) -> Iterator[str]:
    """RELAY_CHANNEL plumbed into a room wmx made (#lab_wmx-relay:wmx.test)."""
    out = json.loads(
        wmx("irc", "plumb", RELAY_CHANNEL, "-o", "json", site=deployed.site.paths.root).stdout
    )
    assert out[0]["outcome"] in ("plumbed", "already plumbed"), out
    yield str(out[0]["room_id"])


def test_bridge_is_up_with_the_networks_of_wmx_yaml(deployed: Deployed) -> None:
    status = json.loads(wmx("irc", "status", "-o", "json", site=deployed.site.paths.root).stdout)
    assert status["up"] is True, status
    (network,) = status["networks"]
    assert network["name"] == LAB_IRC_NETWORK and network["matches"] is True
    assert status["allowed"] == {f"@*:{server_name(deployed)}": "user"}
    assert status["owner"] == f"@wmx-admin:{server_name(deployed)}"
    # A second sync changes nothing: the deploy already told the bridge.
    again = json.loads(wmx("irc", "sync", "-o", "json", site=deployed.site.paths.root).stdout)
    assert again == {"changes": []}


def test_plumb_to_an_unknown_network_fails_before_any_change(deployed: Deployed) -> None:
    result = wmx(
        "irc", "plumb", "#x", "--network", "libera", site=deployed.site.paths.root, check=False
    )
    assert result.returncode == 2
    assert "unknown network 'libera'" in result.stderr and LAB_IRC_NETWORK in result.stderr


def test_bouncer_mode_a_matrix_user_on_irc(
    deployed: Deployed, lab_irc: ircd.IrcServerConfig
) -> None:
    ircuser = irc_client(deployed, lab_irc, "ircalice")
    ircuser.join(BOUNCER_CHANNEL)
    account = create_account(deployed.site, "ircfriend")
    user = matrix_user(deployed, account)

    async def conversation() -> None:
        await user.login()
        bot = f"@heisenbridge:{server_name(deployed)}"
        _, room = await open_bouncer_channel(user, bot, LAB_IRC_NETWORK, BOUNCER_CHANNEL)
        await user.say(room, "hello from Matrix\nsecond line: grüße, 你好 ☕")
        first = ircuser.wait_message(BOUNCER_CHANNEL, "hello from Matrix")
        second = ircuser.wait_message(BOUNCER_CHANNEL, "second line: grüße, 你好 ☕")
        assert first.nick == second.nick == "ircfriend"
        ircuser.say(BOUNCER_CHANNEL, "hello from IRC: ça marche ✓")
        await user.wait_message(
            room, "hello from IRC: ça marche ✓", sender=puppet(deployed, "ircalice")
        )
        await user.close()

    run(conversation())
    ircuser.close()


def _bridge_connections(deployed: Deployed, port: int) -> list[int]:
    """Local ports of the bridge's connections to the IRC server, as the bridge host sees."""
    out = deployed.lab.run(
        deployed.host, ["ss", "-tnH", "state", "established", f"( dport = :{port} )"]
    ).stdout
    return [int(line.split()[2].rsplit(":", 1)[1]) for line in out.splitlines() if line.strip()]


def _ident(address: str, local_port: int, remote_port: int) -> str:
    with socket.create_connection((address, 113), timeout=10) as sock:
        sock.sendall(f"{local_port}, {remote_port}\r\n".encode())
        return sock.recv(512).decode().strip()


def test_identd_answers_for_each_bridged_connection(
    deployed: Deployed, lab_irc: ircd.IrcServerConfig, relay_room: str
) -> None:
    assert lab_irc.tls_port is not None
    ports = _bridge_connections(deployed, lab_irc.tls_port)
    assert ports, "the bridge has no connection to the lab's IRC server"
    answers = [_ident(deployed.address, p, lab_irc.tls_port) for p in ports]
    idents = [a.rsplit(":", 1)[1].strip() for a in answers if ": USERID :" in a]
    assert len(idents) == len(ports), answers
    # One ident per Matrix user: channel operators can ban one of them, not the server.
    assert len(set(idents)) == len(idents)
    assert heisenbridge_ident(f"@wmx-admin:{server_name(deployed)}") in idents  # the relay
    assert heisenbridge_ident(f"@ircfriend:{server_name(deployed)}") in idents  # bouncer
    # A connection that is not the bridge's gets no name.
    assert ": ERROR :" in _ident(deployed.address, 1, lab_irc.tls_port)


def _relay_conversation(
    deployed: Deployed, ircuser: IrcClient, user: MatrixUser, room_id: str, tag: str
) -> None:
    relay = relay_nick(deployed.site.config)

    async def conversation() -> None:
        await user.login()
        await user.join(room_id)
        await user.say(room_id, f"relay {tag}: from Matrix, ½ ✓")
        message = ircuser.wait_message(RELAY_CHANNEL, f"relay {tag}: from Matrix, ½ ✓")
        assert message.nick == relay
        assert message.text.replace(ZWSP, "").startswith(f"<{user.user_id[1:].split(':')[0]}> ")
        ircuser.say(RELAY_CHANNEL, f"relay {tag}: from IRC, ñ")
        await user.wait_message(
            room_id, f"relay {tag}: from IRC, ñ", sender=puppet(deployed, ircuser.nick)
        )
        await user.close()

    run(conversation())


@pytest.fixture(scope="module")
def relay_user(deployed: Deployed) -> Account:
    return create_account(deployed.site, "relayed")


def test_relay_mode_plumbed_channel(
    deployed: Deployed, lab_irc: ircd.IrcServerConfig, relay_room: str, relay_user: Account
) -> None:
    ircuser = irc_client(deployed, lab_irc, "ircbob")
    ircuser.join(RELAY_CHANNEL)
    relay = relay_nick(deployed.site.config)
    ircuser.in_channel(RELAY_CHANNEL, relay)
    # The relay says who runs it: the operators' contact is in its realname.
    ircuser.send(f"WHOIS {relay}")
    line = ircuser.wait_for(lambda ln: f" 311 ircbob {relay} " in ln, "WHOIS of the relay")
    assert deployed.site.config.contacts.admin_email in line
    _relay_conversation(deployed, ircuser, matrix_user(deployed, relay_user), relay_room, "1")
    ircuser.close()


def test_bridge_reconnects_after_the_irc_server_restarts(
    deployed: Deployed, lab_irc: ircd.IrcServerConfig, relay_room: str, relay_user: Account
) -> None:
    deployed.lab.restart_irc()
    ircuser = irc_client(deployed, lab_irc, "ircback")
    ircuser.join(RELAY_CHANNEL)
    ircuser.in_channel(RELAY_CHANNEL, relay_nick(deployed.site.config), timeout=180)
    _relay_conversation(deployed, ircuser, matrix_user(deployed, relay_user), relay_room, "2")
    ircuser.close()


@pytest.mark.parametrize("service", ["matrix-synapse", "heisenbridge"])
def test_plumbed_room_works_after_a_restart(
    deployed: Deployed,
    lab_irc: ircd.IrcServerConfig,
    relay_room: str,
    relay_user: Account,
    service: str,
) -> None:
    ircuser = irc_client(deployed, lab_irc, f"irc{service[:5]}")
    ircuser.join(RELAY_CHANNEL)
    deployed.lab.run(deployed.host, ["systemctl", "restart", f"{service}.service"])
    with https(deployed.trust) as http:
        wait_until(
            lambda: (
                http.get(f"{deployed.homeserver_url}/_matrix/client/versions").status_code == 200
            ),
            "Synapse to answer again",
        )
    if service == "heisenbridge":
        # The relay leaves with the bridge and comes back when it is up again.
        time.sleep(5)
    ircuser.in_channel(RELAY_CHANNEL, relay_nick(deployed.site.config), timeout=180)
    wait_until(
        lambda: (
            json.loads(
                wmx(
                    "irc", "status", "-o", "json", site=deployed.site.paths.root, check=False
                ).stdout
                or "{}"
            ).get("up")
            is True
        ),
        "the bridge to answer Synapse's ping",
        timeout=180,
        every=5,
    )
    _relay_conversation(
        deployed, ircuser, matrix_user(deployed, relay_user), relay_room, f"after {service}"
    )
    ircuser.close()
