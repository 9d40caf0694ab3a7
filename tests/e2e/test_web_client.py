"""A real web client in a real browser: Cinny, installed from its release archive, used by
a person in Debian's headless Chromium (driven by Playwright) against a deployed site.

The shared lab site is switched to `web_client.kind: cinny` with the shared release
archive (`../shared/clients/cinny-v4.2.2.tar.gz`, pinned by its SHA-256 from
SHA256SUMS: the way production installs a downloaded release) for this module, and
back to Element afterwards. Then a person:

1. opens the web client's host; Cinny reads the site's config.json and finds the
   homeserver through the server name's `/.well-known/matrix/client`;
2. logs in as an account `wmx user create` made;
3. accepts a matrix-nio user's invitation and opens the room, where the nio user's
   message is shown;
4. sends a message, which the nio user receives; sees the nio user's answer arrive;
5. uploads a small image and sees it rendered (fetched through Cinny's service worker
   from the homeserver's authenticated media API);
6. logs out.

Throughout, the console shows no Content-Security-Policy violation and no request to
the homeserver fails. Every step leaves a screenshot (numbered, named after the step)
in the test's artifacts directory: `$WMX_E2E_ARTIFACTS/<test>/` when that is set,
otherwise the test's pytest tmp dir; a failing step names the directory and the files.

The release test switches Cinny to another archive (the same app repacked under another
version) and back, with the browser session passing after each switch.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import struct
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, RoomCreateResponse, RoomMessageImage, RoomMessageText, RoomPreset

from tests.conftest import require
from tests.e2e import browser
from tests.e2e.clients import create_account, https, login
from tests.e2e.conftest import Deployed, wmx
from tests.e2e.settings import current_settings, set_settings
from wmx.components.element import ELEMENT_CURRENT_LINK
from wmx.lab.cinny import ClientArchive, cinny_archive, repack

# The settings this module changes (and puts back).
RELEASE_KEYS = ["web_client.archive", "web_client.sha256", "web_client.version", "web_client.kind"]
# Error answers the Matrix protocol expects, which Cinny asks for on purpose: whether
# registration is open (closed on this site: 403), and whether the account has a key
# backup yet (none: 404).
EXPECTED_ERRORS = [(403, r"/_matrix/client/v3/register$"), (404, r"/room_keys/version$")]


def _root(site: Deployed) -> Path:
    return site.site.paths.root


def _install(site: Deployed, archive: ClientArchive) -> None:
    """Cinny from a local archive, pinned by its checksum, as an operator would."""
    set_settings(
        site,
        {
            "web_client.archive": str(archive.path),
            "web_client.sha256": archive.sha256,
            "web_client.version": archive.version,
            "web_client.kind": "cinny",
        },
    )
    wmx("deploy", site=_root(site))


@pytest.fixture(scope="module")
def cinny_site(deployed: Deployed) -> Iterator[Deployed]:
    require(browser.available(), "needs Debian's chromium, certutil and playwright (dev deps)")
    before = current_settings(deployed, RELEASE_KEYS)
    try:
        _install(deployed, cinny_archive())
        yield deployed
    finally:
        set_settings(deployed, before)
        wmx("deploy", site=_root(deployed))


@pytest.fixture
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    base = os.environ.get("WMX_E2E_ARTIFACTS")
    directory = Path(base) / request.node.name if base else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small PNG of one colour (no imaging library needed)."""
    row = b"\x00" + bytes(rgb) * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _user_created_by_wmx(site: Deployed) -> tuple[str, str]:
    """A new account made as an operator makes one: `wmx user create`, the password
    read from a file (never on a command line)."""
    localpart, password = f"web-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="wmx-e2e-") as scratch:
        password_file = Path(scratch) / "password"
        password_file.touch(mode=0o600)
        password_file.write_text(password + "\n")
        wmx("user", "create", localpart, "--password-file", str(password_file), site=_root(site))
    return localpart, password


async def _wait_for_message(
    client: AsyncClient, room_id: str, sender: str, kinds: tuple[type, ...], timeout: float = 90
) -> Any:
    """The first event of `kinds` from `sender` in `room_id` that `client` syncs."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        response = await client.sync(timeout=5000)
        room = getattr(response, "rooms", None)
        joined = room.join.get(room_id) if room is not None else None
        for event in joined.timeline.events if joined is not None else []:
            if isinstance(event, kinds) and getattr(event, "sender", None) == sender:
                return event
    raise AssertionError(f"{client.user_id} received nothing from {sender} in {timeout} s")


async def _browser_session(site: Deployed, artifacts: Path) -> None:
    from playwright.async_api import expect

    config = site.site.config
    client_url = f"https://{config.web_client.host}"
    localpart, password = _user_created_by_wmx(site)
    user_id = f"@{localpart}:{config.server_name}"
    friend = create_account(site.site, "nio-friend", unique=True)
    nio = await login(site.homeserver_url, friend, site.trust)
    try:
        # A public room (unencrypted: the nio user reads plain text), the browser's
        # account invited, and a message waiting for it.
        created = await nio.room_create(
            name=f"Tea room {localpart}", preset=RoomPreset.public_chat, invite=[user_id]
        )
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id
        waiting = f"waiting for you, {localpart}"
        await nio.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": waiting})
        await nio.sync(timeout=0)  # from here on, syncs bring only what is new

        watched = {config.server_name, config.homeserver.host}
        async with browser.chromium(Path(site.trust), artifacts, watched) as run:
            page = run.page
            expect.set_options(timeout=60_000)

            async with run.step("open the web client"):
                await page.goto(f"{client_url}/")
                # The site's config.json: this homeserver, the only one offered.
                homeserver = page.locator("input[readonly]").first
                await expect(homeserver).to_have_value(config.server_name)

            async with run.step("log in"):
                await page.fill("input[name=usernameInput]", localpart)
                await page.fill("input[name=passwordInput]", password)
                async with page.expect_response(
                    lambda r: (
                        r.url.endswith("/_matrix/client/v3/login") and r.request.method == "POST"
                    )
                ) as logged_in:
                    await page.get_by_role("button", name="Login").click()
                response = await logged_in.value
                assert response.status == 200, f"login answered {response.status}"
                assert response.url.startswith(site.homeserver_url), response.url
                await expect(page.get_by_text("Home", exact=True).first).to_be_visible()
                # Found through the server name's .well-known, over TLS and CORS.
                assert any(
                    status == 200
                    and url == f"https://{config.server_name}/.well-known/matrix/client"
                    for status, _, url in run.responses
                ), run.responses

            async with run.step("open the room"):
                await page.goto(f"{client_url}/inbox/invites/")
                await page.get_by_role("button", name="Accept").click()
                await expect(page.get_by_text(waiting)).to_be_visible()

            async with run.step("send a message"):
                typed = f"typed in a browser, {secrets.token_hex(4)}"
                await page.locator("[data-editable-name=RoomInput]").click()
                await page.keyboard.type(typed)
                await page.keyboard.press("Enter")
                received = await _wait_for_message(nio, room_id, user_id, (RoomMessageText,))
                assert received.body == typed
                await expect(page.get_by_text(typed)).to_be_visible()

            async with run.step("see the answer"):
                answer = f"read you, {secrets.token_hex(4)}"
                await nio.room_send(
                    room_id, "m.room.message", {"msgtype": "m.text", "body": answer}
                )
                await expect(page.get_by_text(answer)).to_be_visible()

            async with run.step("upload an image"):
                image = artifacts / f"tiles-{secrets.token_hex(3)}.png"
                image.write_bytes(_png(96, 64, (200, 30, 30)))
                composer = page.locator(
                    "xpath=//*[@data-editable-name='RoomInput']/ancestor::div[.//button][1]"
                )
                async with page.expect_file_chooser() as chooser:
                    await composer.locator("button").first.click()
                await (await chooser.value).set_files(str(image))
                await page.get_by_role("button", name="Send").click()
                shown = page.locator(f"img[alt='{image.name}']")
                await expect(shown).to_be_visible()
                # Rendered: the browser fetched and decoded the image from the homeserver.
                width = await shown.evaluate(
                    "img => img.decode().then(() => img.naturalWidth, () => 0)"
                )
                assert width == 96, f"the image was not rendered (naturalWidth {width})"
                sent = await _wait_for_message(nio, room_id, user_id, (RoomMessageImage,))
                assert sent.body == image.name and sent.url.startswith("mxc://")

            async with run.step("log out"):
                initial = re.compile(f"^{re.escape(localpart[0])}$", re.IGNORECASE)
                avatar = page.get_by_role("button").filter(has=page.locator("p", has_text=initial))
                # The account's avatar at the foot of the sidebar, which comes first.
                await avatar.first.click()
                await page.get_by_role("button", name="Logout").click()
                async with page.expect_response(
                    lambda r: r.url.endswith("/_matrix/client/v3/logout")
                ) as logged_out:
                    # The confirmation dialog's button.
                    await page.get_by_role("button", name="Logout").last.click()
                assert (await logged_out.value).status == 200
                await expect(page.locator("input[name=usernameInput]")).to_be_visible()

            assert not run.csp_violations, "CSP violations:\n" + run.report()
            errors = run.homeserver_errors(EXPECTED_ERRORS)
            assert not errors, "requests to the homeserver failed:\n" + "\n".join(errors)
    finally:
        await nio.close()


def test_a_person_uses_cinny_in_a_browser(cinny_site: Deployed, artifacts: Path) -> None:
    asyncio.run(_browser_session(cinny_site, artifacts))


def _served_version(site: Deployed) -> str:
    with https(site.trust) as http:
        return http.get(f"https://{site.site.config.web_client.host}/version").text.strip()


def _current_release(site: Deployed) -> str:
    """The release directory the web client's `current` link points at on the host."""
    link = site.lab.run(site.host, ["readlink", ELEMENT_CURRENT_LINK]).stdout.strip()
    assert link.rsplit("/", 1)[-1].startswith("cinny-"), link
    return link


def test_cinny_release_switch_and_rollback(
    cinny_site: Deployed, artifacts: Path, tmp_path: Path
) -> None:
    running = cinny_archive()
    unpacked = _current_release(cinny_site)
    other = repack(running, tmp_path, f"{running.version}-wmxlab.1")
    _install(cinny_site, other)
    assert _served_version(cinny_site) == other.version
    assert _current_release(cinny_site) != unpacked
    asyncio.run(_browser_session(cinny_site, artifacts / "switched"))

    # Back to the release before: still unpacked beside the running one.
    _install(cinny_site, running)
    assert _served_version(cinny_site) == running.version
    assert _current_release(cinny_site) == unpacked
    asyncio.run(_browser_session(cinny_site, artifacts / "rolled-back"))
