"""Real clients for the e2e tests: httpx over verified TLS, matrix-nio, the SSH tunnel."""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
from nio import AsyncClient, AsyncClientConfig, KeysUploadResponse, LoginResponse, SyncResponse

from tests.conftest import password_login as login_body
from wmx.admin.registration import register_user
from wmx.admin.tunnel import synapse_tunnel
from wmx.site import Site


def trusting(trust: str) -> ssl.SSLContext:
    """A client TLS context that trusts the CA bundle `trust` (httpx deprecates
    `verify=<path>`)."""
    return ssl.create_default_context(cafile=trust)


def https(trust: str) -> httpx.Client:
    return httpx.Client(verify=trusting(trust), timeout=30)


def wait_until(
    check: Callable[[], object], what: str, timeout: float = 120, every: float = 2
) -> None:
    """Call ``check`` until it returns something true or ``timeout`` seconds pass.

    While a service comes up its checks raise or fail; those are retried. When the
    deadline passes the last of them is the cause, so it is in the error (and chained):
    the last exception or failed assertion, or the last value ``check`` returned.
    """
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        try:
            result = check()
        except Exception as error:  # the service is still coming up: retry until the deadline
            last: BaseException | None = error
            outcome = f"{type(error).__name__}: {error}"
        else:
            if result:
                return
            last, outcome = None, f"returned {result!r}"
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s ({attempts} attempts) waiting for {what}; "
                f"last attempt: {outcome}"
            ) from last
        time.sleep(every)


@dataclass
class Account:
    user_id: str
    localpart: str
    password: str = field(repr=False)
    # From the shared-secret registration itself: tests that need a token use it instead
    # of logging in, since every e2e client logs in from the lab bridge's one address and
    # Synapse allows few logins per address (rc_login).
    access_token: str = field(default="", repr=False)


def create_account(
    site: Site, localpart: str, *, admin: bool = False, unique: bool = False
) -> Account:
    """Register an account on the site's homeserver through wmx's SSH tunnel.

    ``unique`` appends a random suffix to ``localpart`` (tests that run more than once
    against the same deployed site).
    """
    if unique:
        localpart = f"{localpart}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(16)
    with synapse_tunnel(site.topology.the("homeserver")) as base_url:
        user = register_user(
            base_url, site.secrets.registration_shared_secret, localpart, password, admin=admin
        )
    return Account(user.user_id, localpart, password, user.access_token)


def password_login(http: httpx.Client, homeserver: str, user: str, password: str) -> httpx.Response:
    """POST /login with a password, as every Matrix client does."""
    return http.post(f"{homeserver}/_matrix/client/v3/login", json=login_body(user, password))


def access_token(http: httpx.Client, homeserver: str, account: Account) -> str:
    """Log ``account`` in with its password; its new access token."""
    response = password_login(http, homeserver, account.localpart, account.password)
    assert response.status_code == 200, f"login of {account.user_id}: {response.text}"
    return str(response.json()["access_token"])


def authed(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_room(http: httpx.Client, homeserver: str, token: str, **content: object) -> str:
    """POST /createRoom with ``content``; the new room's id."""
    room = http.post(
        f"{homeserver}/_matrix/client/v3/createRoom", json=content, headers=authed(token)
    )
    assert room.status_code == 200, room.text
    return str(room.json()["room_id"])


def join(http: httpx.Client, homeserver: str, token: str, room: str) -> None:
    joined = http.post(f"{homeserver}/_matrix/client/v3/join/{quote(room)}", headers=authed(token))
    assert joined.status_code == 200, joined.text


def upload(
    http: httpx.Client, homeserver: str, token: str, content: bytes, filename: str, kind: str
) -> str:
    """Upload ``content`` as a file of media type ``kind``; its mxc:// URI."""
    response = http.post(
        f"{homeserver}/_matrix/media/v3/upload",
        params={"filename": filename},
        content=content,
        headers={**authed(token), "Content-Type": kind},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["content_uri"])


def send_text(http: httpx.Client, homeserver: str, token: str, room_id: str, body: str) -> str:
    """Send a plain text message; its event id."""
    sent = http.put(
        f"{homeserver}/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/"
        f"t{secrets.token_hex(6)}",
        json={"msgtype": "m.text", "body": body},
        headers=authed(token),
    )
    assert sent.status_code == 200, sent.text
    return str(sent.json()["event_id"])


def bodies(http: httpx.Client, homeserver: str, token: str, room_id: str) -> list[str]:
    """The bodies of a room's last 100 events, newest first (None for events without)."""
    history = http.get(
        f"{homeserver}/_matrix/client/v3/rooms/{quote(room_id)}/messages",
        params={"dir": "b", "limit": "100"},
        headers=authed(token),
    )
    assert history.status_code == 200, history.text
    return [e["content"].get("body") for e in history.json()["chunk"]]


def download(http: httpx.Client, homeserver: str, token: str, mxc: str) -> bytes:
    """The bytes of an uploaded file, through the authenticated media API."""
    server, media_id = mxc.removeprefix("mxc://").split("/", 1)
    response = http.get(
        f"{homeserver}/_matrix/client/v1/media/download/{server}/{media_id}",
        headers=authed(token),
    )
    assert response.status_code == 200, response.text
    return response.content


def server_key(http: httpx.Client, homeserver: str) -> dict[str, object]:
    """The verify keys the homeserver publishes (its signing key's public half)."""
    response = http.get(f"{homeserver}/_matrix/key/v2/server")
    assert response.status_code == 200, response.text
    return dict(response.json()["verify_keys"])


async def login(homeserver: str, account: Account, trust: str) -> AsyncClient:
    client = AsyncClient(homeserver, account.user_id, ssl=ssl.create_default_context(cafile=trust))
    response = await client.login(account.password, device_name="wmx-e2e")
    assert isinstance(response, LoginResponse), f"login of {account.user_id} failed: {response}"
    return client


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


# --- end-to-end encryption (matrix-nio's e2e extra: vodozemac) ------------------------------


async def e2ee_login(homeserver: str, account: Account, trust: str, store: Path) -> AsyncClient:
    """Log ``account`` in as a new device that encrypts (its keys in ``store``), and
    upload the device's identity and one-time keys, as an E2EE client does first."""
    store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(
        homeserver,
        account.user_id,
        store_path=str(store),
        config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        ssl=ssl.create_default_context(cafile=trust),
    )
    response = await client.login(account.password, device_name="wmx-e2e-encrypting")
    assert isinstance(response, LoginResponse), f"login of {account.user_id} failed: {response}"
    if client.should_upload_keys:
        uploaded = await client.keys_upload()
        assert isinstance(uploaded, KeysUploadResponse), f"key upload: {uploaded}"
    return client


async def sync_until(
    client: AsyncClient, done: Callable[[SyncResponse], object], what: str, timeout: float = 120
) -> None:
    """Sync ``client`` (long polls of a few seconds) until ``done(response)`` is true; the
    nio client decrypts what it can as it syncs and queries keys it is missing."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.sync(timeout=3000)
        assert isinstance(response, SyncResponse), f"sync of {client.user_id}: {response}"
        if client.should_query_keys:
            await client.keys_query()
        if done(response):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
