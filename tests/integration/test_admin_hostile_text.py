"""What users write reaches the operator's terminal as the literal text: display names,
room names and topics, report reasons and reported messages that look like Rich markup
(a link, hidden text) are shown as typed, in tables, records and messages."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.integration.conftest import AdminLab

pytestmark = pytest.mark.integration

LINK = "[link=https://evil.example]x[/link]"
HIDDEN = "[hidden]secret[/hidden]"
STYLED = "[bold red]URGENT[/]"


def test_server_and_user_text_is_never_read_as_markup(admin_lab: AdminLab) -> None:
    mallory, reporter = admin_lab.account("mallory"), admin_lab.account("reporter")
    token, reporter_token = admin_lab.token_of(mallory), admin_lab.token_of(reporter)
    with admin_lab.client(token) as http:
        named = http.put(
            f"/_matrix/client/v3/profile/{quote(mallory.user_id, safe='')}/displayname",
            json={"displayname": LINK},
        )
    assert named.status_code == 200, named.text
    room_id = admin_lab.create_room(token, preset="public_chat", name=HIDDEN, topic=STYLED)
    assert admin_lab.join(reporter_token, room_id).status_code == 200
    # The room list and details show the name and topic from the room stats.
    admin_lab.settled(room_id, name=HIDDEN, topic=STYLED, joined_members=2)
    event_id = admin_lab.send(token, room_id, HIDDEN).json()["event_id"]
    with admin_lab.client(reporter_token) as http:
        flagged = http.post(
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/report/{quote(event_id, safe='')}",
            json={"reason": LINK, "score": -100},
        )
    assert flagged.status_code == 200, flagged.text

    assert LINK in admin_lab.wmx("user", "list", "--name", mallory.localpart).stdout
    assert LINK in admin_lab.wmx("user", "show", mallory.user_id).stdout
    listed = admin_lab.wmx("room", "list", "--search", room_id).stdout
    assert HIDDEN in listed or HIDDEN in admin_lab.wmx("room", "list").stdout
    shown = admin_lab.wmx("room", "show", room_id).stdout
    assert HIDDEN in shown and STYLED in shown
    reports = admin_lab.wmx("reports", "list", "--room", room_id).stdout
    assert LINK in reports and HIDDEN in reports
    [report] = json.loads(admin_lab.wmx("reports", "list", "--room", room_id, "-o", "json").stdout)
    detail = admin_lab.wmx("reports", "show", str(report["id"])).stdout
    assert LINK in detail and HIDDEN in detail
