"""Two lab homeservers federating (issue 14): the session's site (tests/e2e/conftest.py,
`wmx.test` on lab1, delegated through `.well-known/matrix/server` to its homeserver on
443) and this module's own (`chapter.test` on lab2, federation on port 8448), each with
certificates from the lab's ACME server and names every lab host resolves.

Users of each server meet in rooms created on the other and joined by alias: messages,
an edit, a reaction, a file and a room name change reach both sides; a server ACL set
on one side keeps the other server out; `wmx room` works on the federated rooms. Then
end-to-end encryption across the servers with a real client (matrix-nio with its e2e
extra, vodozemac): both devices upload and claim keys, the message is decrypted on the
other side, and neither homeserver's stored event holds the plaintext. Finally `wmx
doctor` passes on both sites and names the check a federation fault fails.

The second site deploys the core components only (its own test: federation); `wmx
doctor` skips the backup checks (tests/e2e/test_doctor.py runs them after a backup) and
`synapse-release` (the pinned Synapse may lag PyPI on the day the suite runs).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from nio import (
    AsyncClient,
    EncryptionError,
    JoinResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageText,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)

from tests.e2e.clients import (
    Account,
    authed,
    create_account,
    e2ee_login,
    https,
    sync_until,
    wait_until,
)
from tests.e2e.conftest import Deployed, drop_groups, new_site, wait_for_homeserver, wmx
from tests.e2e.deployments import Recipe, deployed_site
from wmx.lab import Lab
from wmx.lab.addressing import host_index
from wmx.site import Site, load_site

pytestmark = pytest.mark.timeout(1200)

HOST = "lab2"
SERVER_NAME = "chapter.test"
ONLY = ["base", "postgresql", "synapse", "nginx"]
SETTINGS = {
    "homeserver.federation_port": "8448",
    "synapse.login_rate_limit.burst_count": "200",
    "backup.enabled": "false",
}
EVENT_ID = re.compile(r"\$[A-Za-z0-9_\-]+")
DOCTOR_SKIPS = ("synapse-release", "backup-fresh", "backup-signing-key")
WIDE_WHITELIST = "/etc/matrix-synapse/conf.d/zz-federation-test.yaml"


@dataclass(frozen=True)
class Server:
    """One of the two federating sites."""

    root: Path
    host: str

    @property
    def site(self) -> Site:
        return load_site(self.root)

    @property
    def name(self) -> str:
        return self.site.config.server_name

    @property
    def url(self) -> str:
        return f"https://{self.site.config.homeserver.host}"


@dataclass
class World:
    lab: Lab
    trust: str
    here: Server  # wmx.test: delegation to 443
    there: Server  # chapter.test: port 8448
    accounts: dict[str, Account] = field(default_factory=dict)
    room_id: str = ""


FEDERATED_SITE = Recipe(
    name="federation",
    hosts=(HOST,),
    described_in=__file__,
    details={"server_name": SERVER_NAME, "only": ONLY, "settings": SETTINGS},
)


def _first_deploy(lab: Lab, root: Path) -> subprocess.CompletedProcess[str]:
    new_site(root, SERVER_NAME, SETTINGS)
    lab.remove(HOST)
    # As an operator puts a second site in the lab: on a host of its own, adding
    # chapter.test's names beside wmx.test's and allowing the lab network to federation.
    wmx("lab", "up", "--hosts", str(host_index(HOST)), "--site", str(root), "--on", HOST)
    drop_groups(root, "monitoring", "irc_bridge", "turn")
    return wmx("deploy", *[a for c in ONLY for a in ("--only", c)], site=root)


@pytest.fixture(scope="module")
def world(
    lab: Lab, deployed: Deployed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("sites") / "federation"
    deployed_site(
        FEDERATED_SITE,
        lab,
        root,
        functools.partial(_first_deploy, lab),
        on_restore=lambda _: wait_for_homeserver(
            f"https://matrix.{SERVER_NAME}", lab.trust_bundle_path
        ),
    )
    here = Server(deployed.site.paths.root, deployed.host)
    yield World(lab=lab, trust=deployed.trust, here=here, there=Server(root, HOST))


# --- plain Matrix client calls ---------------------------------------------------------------


def call(
    http: httpx.Client, method: str, server: Server, path: str, token: str, **kwargs: Any
) -> dict[str, Any]:
    response = http.request(
        method, f"{server.url}/_matrix/client/v3{path}", headers=authed(token), **kwargs
    )
    assert response.status_code == 200, f"{method} {path} on {server.name}: {response.text}"
    return dict(response.json())


def send(
    http: httpx.Client, server: Server, token: str, room_id: str, kind: str, content: object
) -> str:
    txn = secrets.token_hex(8)
    path = f"/rooms/{quote(room_id)}/send/{kind}/{txn}"
    return str(call(http, "PUT", server, path, token, json=content)["event_id"])


def event_seen(
    http: httpx.Client, server: Server, token: str, room_id: str, event_id: str
) -> dict[str, Any]:
    """The event as ``server`` serves it to a user once it has arrived (waits for it)."""
    found: dict[str, Any] = {}

    def arrived() -> bool:
        response = http.get(
            f"{server.url}/_matrix/client/v3/rooms/{quote(room_id)}/event/{quote(event_id)}",
            headers=authed(token),
        )
        if response.status_code == 200:
            found.update(response.json())
        return response.status_code == 200

    wait_until(arrived, f"{event_id} to reach {server.name}", timeout=120)
    return found


def account(world: World, who: str, server: Server) -> Account:
    if who not in world.accounts:
        world.accounts[who] = create_account(server.site, who, unique=True)
    return world.accounts[who]


# --- the tests ---------------------------------------------------------------------------------


def test_both_delegation_styles_are_served(world: World) -> None:
    with https(world.trust) as http:
        for server, endpoint in (
            (world.here, f"matrix.{world.here.name}:443"),
            (world.there, f"matrix.{SERVER_NAME}:8448"),
        ):
            answer = http.get(f"https://{server.name}/.well-known/matrix/server")
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"m.server": endpoint}
            version = http.get(f"https://{endpoint}/_matrix/federation/v1/version")
            assert version.status_code == 200 and version.json()["server"]["name"] == "Synapse"


def test_a_room_on_one_server_joined_by_alias_from_the_other(world: World) -> None:
    here, there = world.here, world.there
    alice, bob = account(world, "alice", here), account(world, "bob", there)
    a, b = alice.access_token, bob.access_token
    alias_name = f"federation-{secrets.token_hex(3)}"
    with https(world.trust) as http:
        created = call(http, "POST", here, "/createRoom", a,
                       json={"preset": "public_chat", "room_alias_name": alias_name})  # fmt: skip
        room = world.room_id = str(created["room_id"])
        # bob's server resolves the alias on wmx.test and joins through it.
        # (A first join fetches the other server's keys: more than a message takes.)
        joined = call(http, "POST", there, f"/join/{quote(f'#{alias_name}:{here.name}')}", b,
                      timeout=180)  # fmt: skip
        assert joined["room_id"] == room

        def bob_is_member() -> bool:
            members = call(http, "GET", here, f"/rooms/{quote(room)}/joined_members", a)
            return bob.user_id in members["joined"]

        wait_until(bob_is_member, f"{bob.user_id} to be a member on {here.name}")

        hello = send(http, here, a, room, "m.room.message",
                     {"msgtype": "m.text", "body": "hello from wmx.test"})  # fmt: skip
        assert event_seen(http, there, b, room, hello)["content"]["body"] == "hello from wmx.test"
        reply = send(http, there, b, room, "m.room.message",
                     {"msgtype": "m.text", "body": "hello from chapter.test"})  # fmt: skip
        assert event_seen(http, here, a, room, reply)["sender"] == bob.user_id

        edit = send(http, there, b, room, "m.room.message", {
            "msgtype": "m.text", "body": "* hello again from chapter.test",
            "m.new_content": {"msgtype": "m.text", "body": "hello again from chapter.test"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": reply},
        })  # fmt: skip
        edited = event_seen(http, here, a, room, edit)["content"]
        assert edited["m.new_content"]["body"] == "hello again from chapter.test"
        assert edited["m.relates_to"] == {"rel_type": "m.replace", "event_id": reply}

        reaction = send(http, here, a, room, "m.reaction", {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": reply, "key": "👍"},
        })  # fmt: skip
        annotation = event_seen(http, there, b, room, reaction)["content"]["m.relates_to"]
        assert annotation["key"] == "👍" and annotation["event_id"] == reply

        # A file uploaded to chapter.test, fetched through wmx.test (federated media).
        data = secrets.token_bytes(50_000)
        upload = http.post(
            f"{there.url}/_matrix/media/v3/upload",
            params={"filename": "notes.bin"},
            content=data,
            headers={**authed(b), "Content-Type": "application/octet-stream"},
        )
        assert upload.status_code == 200, upload.text
        mxc = str(upload.json()["content_uri"])
        assert mxc.startswith(f"mxc://{SERVER_NAME}/")
        file_event = send(http, there, b, room, "m.room.message",
                          {"msgtype": "m.file", "body": "notes.bin", "url": mxc})  # fmt: skip
        assert event_seen(http, here, a, room, file_event)["content"]["url"] == mxc
        media_id = mxc.rsplit("/", 1)[1]
        fetched = http.get(
            f"{here.url}/_matrix/client/v1/media/download/{SERVER_NAME}/{media_id}",
            headers=authed(a),
        )
        assert fetched.status_code == 200, fetched.text
        assert fetched.content == data

        name_event = call(http, "PUT", here, f"/rooms/{quote(room)}/state/m.room.name/", a,
                          json={"name": "Across two servers"})["event_id"]  # fmt: skip
        event_seen(http, there, b, room, str(name_event))
        name = call(http, "GET", there, f"/rooms/{quote(room)}/state/m.room.name/", b)
        assert name == {"name": "Across two servers"}


def test_wmx_room_commands_work_on_the_federated_room(world: World) -> None:
    alice, bob = world.accounts["alice"], world.accounts["bob"]
    # On chapter.test the room is a remote one: its admin API knows it by federation.
    members = wmx("room", "members", world.room_id, "-o", "json", site=world.there.root)
    assert {alice.user_id, bob.user_id} <= set(re.findall(r"@[^\"\s]+", members.stdout))
    state = json.loads(
        wmx("room", "state", world.room_id, "-o", "json", site=world.there.root).stdout
    )
    names = [e for e in state if e["type"] == "m.room.name"]
    assert names and names[0]["content"] == {"name": "Across two servers"}


def test_a_server_acl_keeps_the_banned_server_out(world: World) -> None:
    here, there = world.here, world.there
    alice, bob = world.accounts["alice"], world.accounts["bob"]
    alias_name = f"acl-{secrets.token_hex(3)}"
    with https(world.trust) as http:
        created = call(http, "POST", here, "/createRoom", alice.access_token,
                       json={"preset": "public_chat", "room_alias_name": alias_name})  # fmt: skip
        room = str(created["room_id"])
        acl = {"allow": ["*"], "deny": [SERVER_NAME], "allow_ip_literals": False}
        call(http, "PUT", here, f"/rooms/{quote(room)}/state/m.room.server_acl/",
             alice.access_token, json=acl)  # fmt: skip
        # chapter.test is in no part of this room: its join must go through wmx.test,
        # which refuses a server the room's ACL denies (the first room shows joins work).
        refused = http.post(
            f"{there.url}/_matrix/client/v3/join/{quote(f'#{alias_name}:{here.name}')}",
            headers=authed(bob.access_token),
            json={},
            timeout=180,
        )
        assert refused.status_code == 403, refused.text
    state = json.loads(wmx("room", "state", room, "-o", "json", site=here.root).stdout)
    [found] = [e for e in state if e["type"] == "m.room.server_acl"]
    assert found["content"]["deny"] == [SERVER_NAME]
    members = wmx("room", "members", room, "-o", "json", site=here.root).stdout
    assert bob.user_id not in members


SECRET_TEXT = "the minutes of the chapter board, encrypted"


async def _encrypted_exchange(world: World, stores: Path) -> tuple[str, str]:
    """bob (chapter.test) opens an encrypted room, alice (wmx.test) joins it by alias;
    bob's message reaches alice's device, which decrypts it. The room and event ids."""
    here, there = world.here, world.there
    bob = await e2ee_login(there.url, world.accounts["bob"], world.trust, stores / "bob")
    alice = await e2ee_login(here.url, world.accounts["alice"], world.trust, stores / "alice")
    clients: list[AsyncClient] = [bob, alice]
    try:
        for client in clients:
            await sync_until(client, lambda _: True, "a first sync")
        alias_name = f"e2ee-{secrets.token_hex(3)}"
        created = await bob.room_create(
            alias=alias_name,
            preset=RoomPreset.public_chat,
            initial_state=[{"type": "m.room.encryption", "state_key": "",
                            "content": {"algorithm": "m.megolm.v1.aes-sha2"}}],
        )  # fmt: skip
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id
        joined = await alice.join(f"#{alias_name}:{there.name}")
        assert isinstance(joined, JoinResponse), joined

        def alice_in_encrypted_room(_: SyncResponse) -> bool:
            room = bob.rooms.get(room_id)
            return bool(room and room.encrypted and alice.user_id in room.users)

        await sync_until(bob, alice_in_encrypted_room, "alice's join to reach chapter.test")
        # Queries alice's devices over federation, claims a one-time key of her device on
        # wmx.test and sends the room key to it (to-device, encrypted with Olm).
        sent = await bob.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": SECRET_TEXT},
            ignore_unverified_devices=True,
        )  # fmt: skip
        assert isinstance(sent, RoomSendResponse), sent
        undecrypted: list[MegolmEvent] = []
        decrypted: list[str] = []

        def decrypted_by_alice(response: SyncResponse) -> bool:
            joined_room = response.rooms.join.get(room_id)
            for event in joined_room.timeline.events if joined_room else []:
                if event.event_id == sent.event_id and isinstance(event, MegolmEvent):
                    undecrypted.append(event)  # the room key may arrive in a later sync
                elif event.event_id == sent.event_id and isinstance(event, RoomMessageText):
                    decrypted.append(event.body)
            for event in undecrypted if not decrypted else []:
                try:
                    again = alice.decrypt_event(event)
                except EncryptionError:
                    continue  # no room key yet
                if isinstance(again, RoomMessageText):
                    decrypted.append(again.body)
            return bool(decrypted)

        await sync_until(alice, decrypted_by_alice, "alice to decrypt bob's message")
        assert decrypted[0] == SECRET_TEXT
        return room_id, sent.event_id
    finally:
        for client in clients:
            await client.close()


def stored_event(world: World, server: Server, event_id: str) -> dict[str, Any]:
    """The event as ``server``'s PostgreSQL holds it (event_json)."""
    assert EVENT_ID.fullmatch(event_id), event_id
    query = f"SELECT json FROM event_json WHERE event_id = '{event_id}'"
    done = world.lab.run(
        server.host,
        ["runuser", "-u", "postgres", "--", "psql", "-XAt", "-d", "synapse", "-c", query],
    )
    assert done.stdout.strip(), f"{event_id} is not stored on {server.name}"
    return dict(json.loads(done.stdout))


def test_end_to_end_encryption_across_the_servers(world: World, tmp_path: Path) -> None:
    room_id, event_id = asyncio.run(_encrypted_exchange(world, tmp_path))
    for server in (world.there, world.here):
        event = stored_event(world, server, event_id)
        assert event["type"] == "m.room.encrypted" and event["room_id"] == room_id
        assert event["content"]["algorithm"] == "m.megolm.v1.aes-sha2"
        assert SECRET_TEXT not in json.dumps(event)
        assert "minutes" not in json.dumps(event)


def test_wmx_status_shows_each_server_federating_with_the_other(world: World) -> None:
    """Both sides sent and received transactions above: each site's `wmx status` has the
    other server with a last sent and a last received time, and no failure."""
    for server, other in ((world.here, world.there), (world.there, world.here)):
        result = wmx("status", "--output", "json", site=server.root, check=False)
        assert result.returncode in (0, 1), result.stderr
        status = json.loads(result.stdout)
        assert status["federation_error"] == "", status["federation_error"]
        remotes = {r["server"]: r for r in status["federation"]}
        assert other.name in remotes, f"{server.name} lists {sorted(remotes)}"
        remote = remotes[other.name]
        assert remote["last_sent_at"] and remote["last_received_at"], remote
        assert remote["failing_since"] is None, remote


def doctor(server: Server, trust: str, *options: str) -> tuple[int, dict[str, dict[str, Any]]]:
    skips = [arg for kind in DOCTOR_SKIPS for arg in ("--skip", kind)]
    result = wmx("doctor", "-o", "json", "--ca-file", trust, *skips, *options,
                 site=server.root, check=False)  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, {c["id"]: c for c in json.loads(result.stdout)["checks"]}


def failed(checks: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {id: str(c["detail"]) for id, c in checks.items() if not c["ok"]}


def test_doctor_passes_on_both_sites(world: World) -> None:
    for server in (world.here, world.there):
        code, checks = doctor(server, world.trust)
        assert failed(checks) == {}, server.name
        assert code == 0
        assert "allowed: 10.213.0.0/24" in checks["federation-ranges"]["detail"]
    _, there = doctor(world.there, world.trust, "--only", "outside")
    assert f"tls:matrix.{SERVER_NAME}:8448" in there


def test_doctor_names_federation_faults(world: World) -> None:
    lab, there = world.lab, world.there
    # Federation allowed into every private network, beyond what wmx.yaml allows.
    lab.run(there.host, ["sh", "-c", f"cat > {WIDE_WHITELIST}"],
            input="ip_range_whitelist: ['10.0.0.0/8']\n")  # fmt: skip
    try:
        code, checks = doctor(there, world.trust, "--only", "inside")
    finally:
        lab.run(there.host, ["rm", "-f", WIDE_WHITELIST])
    assert code == 1
    assert "ip_range_whitelist allows 10.0.0.0/8" in failed(checks)["federation-ranges"]
    # Port 8448, where chapter.test federates, closed by the host's firewall.
    lab.run(there.host, ["nft", "insert", "rule", "inet", "wmx", "input",
                         "tcp", "dport", "8448", "drop"])  # fmt: skip
    try:
        _, checks = doctor(there, world.trust, "--only", "outside")
    finally:
        lab.run(there.host, ["systemctl", "restart", "nftables"])
    found = failed(checks)
    assert "did not answer" in found[f"tls:matrix.{SERVER_NAME}:8448"]
    assert "server-keys" in found
