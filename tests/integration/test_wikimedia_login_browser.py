"""Logging in with a Wikimedia account in a real browser (issue 15): Debian's Chromium
driven by Playwright (tests/e2e/browser.py), the real Cinny release the lab installs,
the real Synapse with wmx's rendered login configuration, and the lab's Meta stand-in.

Everything runs on loopback, without the lab (see test_wikimedia_login.py for what that
changes): Cinny's release is served as nginx serves it (index.html for every path that
is no file), with a config.json naming this Synapse as its only homeserver.

A person follows a room link (`wmx room link`'s form for Cinny) while logged out: Cinny
keeps it, shows its login page with the Wikimedia button, the click goes through the
stand-in's consent page and back, Cinny logs in with the login token and opens the room,
and the person joins and sends a message that the room's owner receives.
"""

from __future__ import annotations

import asyncio
import json
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import require
from tests.e2e import browser
from tests.integration.synapse_server import SERVER_NAME
from tests.integration.test_wikimedia_login import Rig, _start
from tests.unit.render_sites import SECRETS
from wmx.admin.registration import register_user
from wmx.lab.cinny import cinny_archive
from wmx.lab.wikimedia import LAB_ACCOUNTS


class _Spa(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_head(self) -> Any:
        path = Path(self.translate_path(self.path))
        if not path.exists():
            # As nginx does for Cinny: olm.wasm from any directory, else index.html.
            self.path = "/olm.wasm" if path.name == "olm.wasm" else "/index.html"
        return super().send_head()


def _serve_cinny(root: Path) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Spa, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def cinny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    require(browser.available(), "needs Debian's chromium, certutil and playwright (dev deps)")
    archive = cinny_archive()
    unpacked = tmp_path_factory.mktemp("cinny")
    with tarfile.open(archive.path) as tar:
        tar.extractall(unpacked, filter="data")
    (root,) = [p for p in unpacked.iterdir() if p.is_dir()]
    server, url = _serve_cinny(root)
    try:
        yield root, url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def rig(cinny: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root, url = cinny
    with pytest.MonkeyPatch.context() as monkeypatch:
        for running in _start(
            tmp_path_factory.mktemp("login"), monkeypatch, sul_only=False, clients=(f"{url}/",)
        ):
            config = {
                "defaultHomeserver": 0,
                "homeserverList": [running.synapse.url],
                "allowCustomHomeservers": False,
                "hashRouter": {"enabled": False, "basename": "/"},
            }
            (root / "config.json").write_text(json.dumps(config))
            yield running


def _room_with_a_message(rig: Rig) -> tuple[str, str, str]:
    owner = register_user(rig.synapse.url, SECRETS.registration_shared_secret, "owner", "pw-1")
    headers = {"Authorization": f"Bearer {owner.access_token}"}
    created = httpx.post(
        f"{rig.synapse.url}/_matrix/client/v3/createRoom",
        json={"preset": "public_chat", "room_alias_name": "tea", "name": "Tea room"},
        headers=headers,
        timeout=30,
    )
    assert created.status_code == 200, created.text
    return created.json()["room_id"], f"#tea:{SERVER_NAME}", owner.access_token


def _messages(rig: Rig, room_id: str, token: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{rig.synapse.url}/_matrix/client/v3/rooms/{room_id}/messages",
        params={"dir": "b", "limit": 50},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["chunk"]
    return events


async def log_in_through_a_room_link(
    run: browser.BrowserRun, link: str, sub: int, room_name: str, said: str
) -> str:
    """A person follows ``link`` logged out, clicks the Wikimedia button in Cinny, allows
    as account ``sub`` on the consent page, is back in the room named ``room_name``,
    joins it and sends ``said``; the consent page's URL."""
    from playwright.async_api import expect

    page = run.page
    expect.set_options(timeout=60_000)
    async with run.step("follow the room link while logged out"):
        await page.goto(link)
        button = page.get_by_text("Wikimedia account")
        await expect(button.first).to_be_visible()
    async with run.step("click the Wikimedia button"):
        await button.first.click()
        await expect(page.get_by_text("would like to verify your identity")).to_be_visible()
        consent = page.url
        await page.select_option("#account", str(sub))
    async with run.step("allow on the consent page, back in Cinny"):
        await page.click("#approve")
        await expect(page.get_by_text(room_name).first).to_be_visible()
    async with run.step("join the room and send a message"):
        # Cinny may show the room's name before its join card's button: wait for the
        # button, or for the composer of a room already joined, before deciding.
        join = page.get_by_role("button", name="Join", exact=True)
        composer = page.locator("[data-editable-name=RoomInput]")
        await expect(join.or_(composer).first).to_be_visible()
        if await join.first.is_visible():
            await join.first.click()
        await expect(composer).to_be_visible()
        await composer.click()
        await page.keyboard.type(said)
        # Cinny shows the message at once (local echo), and the composer holds the text
        # until it re-renders: wait for the homeserver's answer to the send itself, or the
        # browser may close before the message is stored.
        async with page.expect_response(
            lambda r: r.request.method == "PUT" and "/send/m.room.message/" in r.url
        ) as sent:
            await page.keyboard.press("Enter")
        answer = await sent.value
        assert answer.status == 200, f"the send answered {answer.status}"
        await expect(page.get_by_text(said).first).to_be_visible()
    return consent


async def _session(rig: Rig, cinny_url: str, artifacts: Path) -> None:
    room_id, alias, owner_token = _room_with_a_message(rig)
    artifacts.mkdir(parents=True, exist_ok=True)
    trust = artifacts / "no-extra-ca.pem"
    trust.write_text("")
    alice = LAB_ACCOUNTS["plain"]
    async with browser.chromium(trust, artifacts, {"127.0.0.1"}) as run:
        link = f"{cinny_url}/home/{quote(alias, safe='')}/"
        await log_in_through_a_room_link(
            run, link, alice.sub, "Tea room", "hello from a Wikimedia account"
        )
    sent = [
        e
        for e in _messages(rig, room_id, owner_token)
        if e.get("type") == "m.room.message"
        and e.get("content", {}).get("body") == "hello from a Wikimedia account"
    ]
    assert [e["sender"] for e in sent] == [f"@alice:{SERVER_NAME}"]


def test_a_person_logs_in_with_wikimedia_in_cinny_and_talks(
    rig: Rig, cinny: tuple[Path, str], tmp_path: Path
) -> None:
    asyncio.run(_session(rig, cinny[1], tmp_path / "screenshots"))
