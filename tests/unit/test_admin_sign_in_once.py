"""Commands run at once after wmx's cached token was lost sign in once between them:
every wmx login reaches Synapse from 127.0.0.1 through the tunnel, and four commands
each logging in had used up the address's login limit (a burst of 5, then one per 5.5
minutes), locking wmx out of its own admin account."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx

from wmx.admin.account import read_token, sign_in, token_path
from wmx.admin.client import SynapseAdmin

SERVER = "wmx.test"


def test_four_commands_at_once_log_in_once(tmp_path: Path) -> None:
    site = SimpleNamespace(
        paths=SimpleNamespace(state=tmp_path / ".wmx"),
        config=SimpleNamespace(server_name=SERVER),
        secrets=SimpleNamespace(wmx_admin_password="pw"),
    )
    logins: list[float] = []
    guard = threading.Lock()

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/login"):
            with guard:
                logins.append(time.monotonic())
            time.sleep(0.3)  # a login takes a while: the others arrive meanwhile
            return httpx.Response(200, json={"access_token": "syt_fresh"})
        if request.headers.get("authorization") == "Bearer syt_fresh":
            return httpx.Response(200, json={"user_id": f"@wmx-admin:{SERVER}"})
        return httpx.Response(401, json={"errcode": "M_UNKNOWN_TOKEN"})

    def command() -> None:
        admin = SynapseAdmin(
            "http://synapse.invalid", "", server_name=SERVER, transport=httpx.MockTransport(handle)
        )
        sign_in(admin, site)  # type: ignore[arg-type]

    runs = [threading.Thread(target=command) for _ in range(4)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=30)
    assert len(logins) == 1
    assert read_token(token_path(site)) == "syt_fresh"  # type: ignore[arg-type]
