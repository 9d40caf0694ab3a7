"""Real clients for the e2e tests: httpx over verified TLS, matrix-nio, the SSH tunnel."""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from nio import AsyncClient, LoginResponse

from wmx.admin.registration import register_user
from wmx.admin.tunnel import synapse_tunnel
from wmx.site import Site


def https(trust: str) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=trust), timeout=30)


def wait_until(
    check: Callable[[], bool], what: str, timeout: float = 120, every: float = 2
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # the service is still coming up; try again until the deadline
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@dataclass
class Account:
    user_id: str
    localpart: str
    password: str


def create_account(site: Site, localpart: str, *, admin: bool = False) -> Account:
    password = secrets.token_urlsafe(16)
    with synapse_tunnel(site.topology.the("homeserver")) as base_url:
        user = register_user(
            base_url, site.secrets.registration_shared_secret, localpart, password, admin=admin
        )
    return Account(user.user_id, localpart, password)


async def login(homeserver: str, account: Account, trust: str) -> AsyncClient:
    client = AsyncClient(homeserver, account.user_id, ssl=ssl.create_default_context(cafile=trust))
    response = await client.login(account.password, device_name="wmx-e2e")
    assert isinstance(response, LoginResponse), f"login of {account.user_id} failed: {response}"
    return client


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]
