"""`wmx notice send` and `wmx reports …`: checked from the users' side with matrix-nio."""

from __future__ import annotations

import asyncio
import json
import secrets
from urllib.parse import quote

import pytest
from nio import AsyncClient, InviteMemberEvent, LoginResponse, RoomMessagesResponse, SyncResponse

from tests.integration.conftest import Account, AdminLab
from tests.integration.synapse_server import NOTICES_LOCALPART

pytestmark = pytest.mark.integration

NOWHERE = "http://127.0.0.1:9"


async def _notices(admin_lab: AdminLab, account: Account) -> list[str]:
    """Log in as `account`, accept the server-notices invite, read the room's messages."""
    client = AsyncClient(admin_lab.url, account.user_id)
    try:
        login = await client.login(account.password)
        assert isinstance(login, LoginResponse), login
        sync = await client.sync(timeout=1000)
        assert isinstance(sync, SyncResponse), sync
        notices_user = f"@{NOTICES_LOCALPART}:wmx.test"
        invited = [
            room_id
            for room_id, info in sync.rooms.invite.items()
            if any(
                isinstance(e, InviteMemberEvent) and e.sender == notices_user
                for e in info.invite_state
            )
        ]
        bodies: list[str] = []
        for room_id in invited:
            await client.join(room_id)
            messages = await client.room_messages(room_id, start="", limit=50)
            assert isinstance(messages, RoomMessagesResponse), messages
            bodies += [getattr(e, "body", "") for e in messages.chunk]
        return bodies
    finally:
        await client.close()


def test_notice_to_one_user_arrives(admin_lab: AdminLab) -> None:
    reader = admin_lab.account("reader")
    text = f"Maintenance tonight, {secrets.token_hex(3)}"
    admin_lab.wmx("notice", "send", "--to", reader.user_id, text)
    assert text in asyncio.run(_notices(admin_lab, reader))


def test_notice_to_all_local_users(admin_lab: AdminLab) -> None:
    first, second = admin_lab.account("member"), admin_lab.account("member")
    text = f"Welcome to the new server, {secrets.token_hex(3)}"
    result = admin_lab.wmx("notice", "send", "--all-local", text, "--yes", "-o", "json")
    sent_to = {r["user_id"] for r in json.loads(result.stdout) if r["result"] == "sent"}
    assert {first.user_id, second.user_id} <= sent_to
    assert "@wmx-admin:wmx.test" not in sent_to
    assert text in asyncio.run(_notices(admin_lab, second))


def test_notice_from_a_file(admin_lab: AdminLab, tmp_path: object) -> None:
    reader = admin_lab.account("reader")
    from pathlib import Path

    message = Path(str(tmp_path)) / "notice.txt"
    message.write_text("Line one\nLine two\n")
    admin_lab.wmx("notice", "send", "--to", reader.localpart, "--file", str(message))
    assert "Line one\nLine two\n" in asyncio.run(_notices(admin_lab, reader))


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("notice", "send", "hello"), "--to"),
        (("notice", "send", "--to", "@a b:wmx.test", "hello"), "'@a b:wmx.test'"),
        (("notice", "send", "--to", "@a:elsewhere.org", "hello"), "'@a:elsewhere.org'"),
        (("notice", "send", "--to", "alice", "  "), "empty"),
    ],
)
def test_notice_bad_input(admin_lab: AdminLab, args: tuple[str, ...], named: str) -> None:
    result = admin_lab.wmx(*args, "--url", NOWHERE, expect=2)
    assert named in result.stderr


def test_notice_to_unknown_user(admin_lab: AdminLab) -> None:
    result = admin_lab.wmx("notice", "send", "--to", "nobody-here", "hi", expect=2)
    assert "unknown user @nobody-here:wmx.test" in result.stderr


def test_reports_list_show_resolve(admin_lab: AdminLab) -> None:
    author, reporter = admin_lab.account("author"), admin_lab.account("reporter")
    author_token, reporter_token = admin_lab.token_of(author), admin_lab.token_of(reporter)
    room_id = admin_lab.create_room(author_token, preset="public_chat", name="talk")
    assert admin_lab.join(reporter_token, room_id).status_code == 200
    event_id = admin_lab.send(author_token, room_id, "an insult").json()["event_id"]
    with admin_lab.client(reporter_token) as http:
        flagged = http.post(
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/report/{quote(event_id, safe='')}",
            json={"reason": "harassment", "score": -100},
        )
    assert flagged.status_code == 200, flagged.text

    listed = json.loads(admin_lab.wmx("reports", "list", "--room", room_id, "-o", "json").stdout)
    [report] = [r for r in listed if r["event_id"] == event_id]
    assert report["user_id"] == reporter.user_id and report["reason"] == "harassment"
    assert "harassment" in admin_lab.wmx("reports", "list").stdout
    by_sender = json.loads(
        admin_lab.wmx("reports", "list", "--sender", author.user_id, "-o", "json").stdout
    )
    assert [r["id"] for r in by_sender] == [report["id"]]

    shown = admin_lab.wmx("reports", "show", str(report["id"]))
    assert "an insult" in shown.stdout and reporter.user_id in shown.stdout

    admin_lab.wmx("reports", "resolve", str(report["id"]), "--yes")
    gone = admin_lab.wmx("reports", "show", str(report["id"]), expect=2)
    assert f"unknown event report {report['id']}" in gone.stderr
    remaining = json.loads(admin_lab.wmx("reports", "list", "-o", "json").stdout)
    assert report["id"] not in {r["id"] for r in remaining}
