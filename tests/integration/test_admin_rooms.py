"""`wmx room …` against a real Synapse."""

from __future__ import annotations

import json
import secrets
from urllib.parse import quote

import pytest

from tests.integration.conftest import Account, AdminLab
from wmx.admin.client import SynapseAdmin
from wmx.admin.http import NotFoundError

pytestmark = pytest.mark.integration

NOWHERE = "http://127.0.0.1:9"


def _room(admin_lab: AdminLab, owner: Account, **body: object) -> tuple[str, str]:
    token = admin_lab.token_of(owner)
    return admin_lab.create_room(token, **body), token


def _messages(admin_lab: AdminLab, token: str, room_id: str) -> str:
    with admin_lab.client(token) as http:
        response = http.get(
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/messages",
            params={"dir": "b", "limit": 100},
        )
    return json.dumps(response.json().get("chunk", []))


def test_list_search_and_sort(admin_lab: AdminLab) -> None:
    owner = admin_lab.account("owner")
    name = f"wikiproject-{secrets.token_hex(3)}"
    room_id, _ = _room(admin_lab, owner, name=name)
    admin_lab.settled(room_id, name=name, joined_local_members=1)  # what the search reads
    found = json.loads(admin_lab.wmx("room", "list", "--search", name, "-o", "json").stdout)
    assert [r["room_id"] for r in found] == [room_id]
    assert found[0]["joined_local_members"] == 1

    table = admin_lab.wmx("room", "list", "--sort", "joined_members", "--desc").stdout
    assert room_id in table
    assert len(json.loads(admin_lab.wmx("room", "list", "-n", "1", "-o", "json").stdout)) == 1


def test_show_members_state_by_id_and_alias(admin_lab: AdminLab) -> None:
    owner, guest = admin_lab.account("owner"), admin_lab.account("guest")
    alias_name = f"cafe-{secrets.token_hex(3)}"
    room_id, _ = _room(
        admin_lab, owner, name="Village pump", room_alias_name=alias_name, preset="public_chat"
    )
    assert admin_lab.join(admin_lab.token_of(guest), room_id).status_code == 200
    admin_lab.settled(room_id, name="Village pump", joined_members=2)  # the name shown
    alias = f"#{alias_name}:wmx.test"

    by_alias = json.loads(admin_lab.wmx("room", "show", alias, "-o", "json").stdout)
    assert by_alias["room_id"] == room_id and by_alias["name"] == "Village pump"
    assert by_alias["blocked"] is False
    assert "Village pump" in admin_lab.wmx("room", "show", room_id).stdout

    members = json.loads(admin_lab.wmx("room", "members", room_id, "-o", "json").stdout)
    assert set(members) == {owner.user_id, guest.user_id}
    state = json.loads(admin_lab.wmx("room", "state", alias, "-o", "json").stdout)
    assert any(e["type"] == "m.room.name" and e["content"]["name"] == "Village pump" for e in state)
    assert "m.room.power_levels" in admin_lab.wmx("room", "state", room_id).stdout


def test_delete_purge_block(admin_lab: AdminLab, admin_api: SynapseAdmin) -> None:
    owner, member = admin_lab.account("owner"), admin_lab.account("member")
    room_id, owner_token = _room(admin_lab, owner, name="abusive", preset="public_chat")
    member_token = admin_lab.token_of(member)
    assert admin_lab.join(member_token, room_id).status_code == 200
    admin_lab.send(owner_token, room_id, "something abusive")

    result = admin_lab.wmx(
        "room", "delete", room_id, "--purge", "--block", "--message", "closed", "--yes"
    )
    assert "complete" in result.stdout and "members removed: 2" in result.stdout
    with pytest.raises(NotFoundError):
        admin_api.rooms.get(room_id)  # gone from the database
    assert admin_api.rooms.block_status(room_id)["block"] is True
    rejoin = admin_lab.join(member_token, room_id)
    assert rejoin.status_code == 403, rejoin.text
    with admin_lab.client(member_token) as http:
        joined = http.get("/_matrix/client/v3/joined_rooms").json()["joined_rooms"]
    assert room_id not in joined


def test_delete_asks_and_json_reports_final_status(admin_lab: AdminLab) -> None:
    owner = admin_lab.account("owner")
    room_id, _ = _room(admin_lab, owner)
    admin_lab.wmx("room", "delete", room_id, input="n\n", expect=1)
    final = json.loads(admin_lab.wmx("room", "delete", room_id, "--yes", "-o", "json").stdout)
    assert final["status"] == "complete"
    assert final["shutdown_room"]["kicked_users"] == [owner.user_id]


def test_block_and_unblock(admin_lab: AdminLab) -> None:
    owner, outsider = admin_lab.account("owner"), admin_lab.account("outsider")
    room_id, _ = _room(admin_lab, owner, preset="public_chat")
    outsider_token = admin_lab.token_of(outsider)
    admin_lab.wmx("room", "block", room_id)
    assert admin_lab.join(outsider_token, room_id).status_code == 403
    admin_lab.wmx("room", "unblock", room_id)
    assert admin_lab.join(outsider_token, room_id).status_code == 200

    # A room id this server has never seen can be blocked ahead of time.
    unknown = f"!{secrets.token_hex(8)}:elsewhere.example"
    blocked = json.loads(admin_lab.wmx("room", "block", unknown, "-o", "json").stdout)
    assert blocked == {"room_id": unknown, "blocked": True}


def test_make_admin(admin_lab: AdminLab, admin_api: SynapseAdmin) -> None:
    owner, helper = admin_lab.account("owner"), admin_lab.account("helper")
    room_id, _ = _room(admin_lab, owner, preset="public_chat")
    admin_lab.wmx("room", "make-admin", room_id, helper.user_id)
    power = next(e for e in admin_api.rooms.state(room_id) if e["type"] == "m.room.power_levels")
    # Room version 12: the creator's power is implicit; the helper gets the top level, 100.
    assert power["content"]["users"][helper.user_id] >= 100


def test_purge_history_before_a_date(admin_lab: AdminLab) -> None:
    owner = admin_lab.account("owner")
    room_id, token = _room(admin_lab, owner)
    for n in range(3):
        assert admin_lab.send(token, room_id, f"old message {n}").status_code == 200
    assert admin_lab.send(token, room_id, "latest message").status_code == 200
    assert "old message 0" in _messages(admin_lab, token, room_id)

    result = admin_lab.wmx(
        "room", "purge-history", room_id, "--before", "0s", "--include-local", "--yes"
    )
    assert "complete" in result.stdout
    remaining = _messages(admin_lab, token, room_id)
    assert "old message" not in remaining


def test_directory_show_hide_list(admin_lab: AdminLab) -> None:
    owner = admin_lab.account("owner")
    name = f"listed-{secrets.token_hex(3)}"
    room_id, token = _room(admin_lab, owner, name=name, preset="public_chat")
    admin_lab.settled(room_id, name=name)  # the directory lists only rooms with stats

    def published() -> bool:
        with admin_lab.client(token) as http:
            chunk = http.get("/_matrix/client/v3/publicRooms", params={"limit": 500}).json()
        return room_id in {r["room_id"] for r in chunk["chunk"]}

    assert not published()
    admin_lab.wmx("room", "directory", "show", room_id)
    assert published()
    assert name in admin_lab.wmx("room", "directory", "list").stdout
    admin_lab.wmx("room", "directory", "hide", room_id)
    assert not published()


def test_alias_list_and_delete(admin_lab: AdminLab, admin_api: SynapseAdmin) -> None:
    owner = admin_lab.account("owner")
    alias_name = f"old-name-{secrets.token_hex(3)}"
    room_id, _ = _room(admin_lab, owner, room_alias_name=alias_name)
    alias = f"#{alias_name}:wmx.test"
    assert alias in admin_lab.wmx("room", "alias", "list", room_id).stdout
    admin_lab.wmx("room", "alias", "delete", alias, "--yes")
    with pytest.raises(NotFoundError):
        admin_api.rooms.resolve_alias(alias)
    assert admin_api.rooms.get(room_id)["room_id"] == room_id  # the room stays
    again = admin_lab.wmx("room", "alias", "delete", alias, "--yes", expect=2)
    assert f"unknown room alias {alias}" in again.stderr


def test_purge_empty(admin_lab: AdminLab, admin_api: SynapseAdmin) -> None:
    owner = admin_lab.account("owner")
    room_id, token = _room(admin_lab, owner, name="abandoned")
    with admin_lab.client(token) as http:
        left = http.post(f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/leave", json={})
    assert left.status_code == 200
    admin_lab.settled(room_id, joined_members=0)  # what the empty-room filter reads
    preview = json.loads(admin_lab.wmx("room", "purge-empty", "--dry-run", "-o", "json").stdout)
    assert room_id in {r["room_id"] for r in preview}
    admin_api.rooms.get(room_id)  # a dry run deletes nothing

    admin_lab.wmx("room", "purge-empty", "--yes")
    with pytest.raises(NotFoundError):
        admin_api.rooms.get(room_id)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("room", "show", "lobby"), "'lobby'"),
        (("room", "delete", "#no-server", "--yes"), "'#no-server'"),
        (("room", "purge-history", "!abc:wmx.test", "--before", "31/12/2024"), "'31/12/2024'"),
        (("room", "purge-history", "!abc:wmx.test", "--before", "2999-01-01"), "'2999-01-01'"),
        (("room", "make-admin", "!abc:wmx.test", "@not valid"), "'@not valid'"),
        (("room", "alias", "delete", "!abc:wmx.test"), "'!abc:wmx.test'"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    admin_lab: AdminLab, args: tuple[str, ...], named: str
) -> None:
    result = admin_lab.wmx(*args, "--url", NOWHERE, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr


def test_unknown_room_exits_2_naming_it(admin_lab: AdminLab) -> None:
    unknown = f"!{secrets.token_hex(8)}:wmx.test"
    for args in (
        ("room", "show", unknown),
        ("room", "delete", unknown, "--purge", "--yes"),
        ("room", "directory", "hide", unknown),
        ("room", "show", "#nobody-uses-this:wmx.test"),
    ):
        ref = next(a for a in args if a[0] in "!#")
        result = admin_lab.wmx(*args, expect=2)
        assert "unknown room" in result.stderr and ref in result.stderr
