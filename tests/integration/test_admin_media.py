"""`wmx media …` against a real Synapse: what a client can still download afterwards."""

from __future__ import annotations

import json
import secrets
from urllib.parse import quote

import pytest

from tests.integration.conftest import AdminLab
from wmx.admin.client import SynapseAdmin

pytestmark = pytest.mark.integration

NOWHERE = "http://127.0.0.1:9"


def _upload(admin_lab: AdminLab, token: str, size: int = 64) -> str:
    with admin_lab.client(token) as http:
        response = http.post(
            "/_matrix/media/v3/upload",
            params={"filename": "file.bin"},
            content=secrets.token_bytes(size),
            headers={"Content-Type": "application/octet-stream"},
        )
    assert response.status_code == 200, response.text
    return str(response.json()["content_uri"])


def _download_status(admin_lab: AdminLab, token: str, mxc: str) -> int:
    server, media_id = mxc.removeprefix("mxc://").split("/")
    with admin_lab.client(token) as http:
        return http.get(f"/_matrix/client/v1/media/download/{server}/{media_id}").status_code


def test_list_and_show_a_users_media(admin_lab: AdminLab) -> None:
    uploader = admin_lab.account("uploader")
    token = admin_lab.token_of(uploader)
    mxc = _upload(admin_lab, token, 1000)
    listed = json.loads(
        admin_lab.wmx("media", "list", "--user", uploader.user_id, "-o", "json").stdout
    )
    assert [f"mxc://wmx.test/{m['media_id']}" for m in listed] == [mxc]
    assert mxc in admin_lab.wmx("media", "list", "--user", uploader.user_id).stdout
    shown = json.loads(admin_lab.wmx("media", "show", mxc, "-o", "json").stdout)
    assert shown["media_length"] == 1000


def test_quarantine_by_id_then_release(admin_lab: AdminLab) -> None:
    user = admin_lab.account("poster")
    token = admin_lab.token_of(user)
    mxc = _upload(admin_lab, token)
    assert _download_status(admin_lab, token, mxc) == 200
    admin_lab.wmx("media", "quarantine", mxc)
    assert _download_status(admin_lab, token, mxc) == 404
    admin_lab.wmx("media", "unquarantine", mxc)
    assert _download_status(admin_lab, token, mxc) == 200


def test_quarantine_a_rooms_media(admin_lab: AdminLab) -> None:
    user = admin_lab.account("poster")
    token = admin_lab.token_of(user)
    room_id = admin_lab.create_room(token)
    mxc = _upload(admin_lab, token)
    with admin_lab.client(token) as http:
        sent = http.put(
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/send/m.room.message/"
            f"{secrets.token_hex(6)}",
            json={"msgtype": "m.image", "body": "picture", "url": mxc},
        )
    assert sent.status_code == 200
    listed = json.loads(admin_lab.wmx("media", "list", "--room", room_id, "-o", "json").stdout)
    assert listed["local"] == [mxc]

    result = admin_lab.wmx("media", "quarantine", "--room", room_id, "--yes")
    assert "1 item(s)" in result.stdout
    assert _download_status(admin_lab, token, mxc) == 404


def test_quarantine_a_users_media_spares_protected(admin_lab: AdminLab) -> None:
    user = admin_lab.account("spammer")
    token = admin_lab.token_of(user)
    spam, logo = _upload(admin_lab, token), _upload(admin_lab, token)
    admin_lab.wmx("media", "protect", logo.rsplit("/", 1)[1])
    admin_lab.wmx("media", "quarantine", "--user", user.user_id, "--yes")
    assert _download_status(admin_lab, token, spam) == 404
    assert _download_status(admin_lab, token, logo) == 200
    admin_lab.wmx("media", "unprotect", logo)


def test_delete_one_item(admin_lab: AdminLab) -> None:
    user = admin_lab.account("poster")
    token = admin_lab.token_of(user)
    mxc = _upload(admin_lab, token)
    admin_lab.wmx("media", "delete", mxc, "--yes")
    assert _download_status(admin_lab, token, mxc) == 404
    gone = admin_lab.wmx("media", "show", mxc, expect=2)
    assert f"unknown media {mxc}" in gone.stderr


def test_delete_before_date_and_size(admin_lab: AdminLab, admin_api: SynapseAdmin) -> None:
    user = admin_lab.account("poster")
    token = admin_lab.token_of(user)
    big, small = _upload(admin_lab, token, 300_000), _upload(admin_lab, token, 100)
    result = admin_lab.wmx(
        "media", "delete", "--before", "0s", "--size", "200K", "--yes", "-o", "json"
    )
    assert big.rsplit("/", 1)[1] in json.loads(result.stdout)["deleted_media"]
    assert _download_status(admin_lab, token, big) == 404
    assert _download_status(admin_lab, token, small) == 200


def test_purge_remote_cache(admin_lab: AdminLab) -> None:
    result = admin_lab.wmx("media", "purge-remote", "--older-than", "30", "--yes", "-o", "json")
    assert json.loads(result.stdout) == {"deleted": 0}  # this server federates with nobody


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("media", "quarantine", "mxc://wmx.test/../etc"), "'mxc://wmx.test/../etc'"),
        (("media", "protect", "mxc://other.org/abc"), "'mxc://other.org/abc'"),
        (("media", "delete", "--before", "last tuesday", "--yes"), "'last tuesday'"),
        (("media", "delete", "--before", "30d", "--size", "huge", "--yes"), "'huge'"),
        (("media", "list", "--user", "@x y:wmx.test"), "'@x y:wmx.test'"),
        (("media", "purge-remote", "--older-than", "-3", "--yes"), "-3"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    admin_lab: AdminLab, args: tuple[str, ...], named: str
) -> None:
    result = admin_lab.wmx(*args, "--url", NOWHERE, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
