"""Administration of a deployed homeserver from the operator's machine, through the SSH
tunnel wmx opens itself: an account's life, checked by logging in over real TLS."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from pathlib import Path

from nio import InviteMemberEvent, RoomMessagesResponse, SyncResponse

from tests.e2e.clients import Account, create_account, https, login, password_login, wait_until
from tests.e2e.conftest import SERVER_NAME, TRANSCRIPT, Deployed, wmx


def _login_status(deployed: Deployed, user: str, password: str) -> int:
    """Log in as a client would, waiting out Synapse's login rate limit (rc_login)."""
    deadline = time.monotonic() + 300
    with https(deployed.trust) as http:
        while True:
            response = password_login(http, deployed.homeserver_url, user, password)
            if response.status_code != 429 or time.monotonic() > deadline:
                return response.status_code
            time.sleep(response.json().get("retry_after_ms", 1000) / 1000)


def test_admin_api_is_not_public(deployed: Deployed) -> None:
    with https(deployed.trust) as http:
        response = http.get(f"{deployed.homeserver_url}/_synapse/admin/v1/server_version")
    assert response.status_code in {403, 404}, response.text


def test_create_reset_password_deactivate(deployed: Deployed, tmp_path: Path) -> None:
    site = deployed.site.paths.root
    localpart = f"e2e-{secrets.token_hex(3)}"
    user_id = f"@{localpart}:{SERVER_NAME}"
    start = len(TRANSCRIPT)

    # Every e2e client logs in from the lab bridge's one address; the e2e site raises
    # synapse.login_rate_limit for that, and _login_status still waits out a 429.
    created = wmx("user", "create", localpart, "--generate-password", site=site)
    assert re.search(rf"Password for {re.escape(user_id)}: \S+", created.stdout), created.stdout

    new_password = secrets.token_urlsafe(18)
    password_file = tmp_path / "password"
    password_file.write_text(new_password + "\n")
    password_file.chmod(0o600)
    # It asks first (it logs the account out everywhere): --yes answers, as in a script.
    reset = ["user", "reset-password", localpart, "--password-file", str(password_file)]
    wmx(*reset, "--yes", site=site)
    assert _login_status(deployed, localpart, new_password) == 200

    wmx("user", "deactivate", user_id, "--yes", site=site)
    assert _login_status(deployed, user_id, new_password) == 403
    # A deactivated account's password cannot log in: reset-password refuses and says
    # what does, and reactivate lets it log in again.
    refused = wmx(*reset, "--yes", site=site, check=False)
    assert refused.returncode == 2 and "wmx user reactivate" in refused.stderr, refused.stderr
    # Synapse answers a reactivation with a 500 until a background update of a fresh
    # database (the profiles' user id index) has run: asked again meanwhile.
    reactivate = ["user", "reactivate", localpart, "--password-file", str(password_file)]
    wait_until(lambda: wmx(*reactivate, site=site), "the reactivation", timeout=120, every=5)
    assert _login_status(deployed, localpart, new_password) == 200
    wmx("user", "deactivate", user_id, "--yes", site=site)
    assert _login_status(deployed, user_id, new_password) == 403
    shown = json.loads(wmx("user", "show", localpart, "-o", "json", site=site).stdout)
    assert shown["deactivated"] is True

    # wmx's own account and token stay on the operator's machine, never in output.
    token = (site / ".wmx" / "admin-token").read_text().strip()
    assert (site / ".wmx" / "admin-token").stat().st_mode & 0o777 == 0o600
    for output in TRANSCRIPT[start:]:
        assert token not in output and new_password not in output
        for value in deployed.site.secrets.values():
            assert value not in output


async def _notice_bodies(deployed: Deployed, account: Account) -> list[str]:
    """What `account` reads in the rooms the server-notices account invited it to."""
    client = await login(deployed.homeserver_url, account, deployed.trust)
    try:
        sync = await client.sync(timeout=1000)
        assert isinstance(sync, SyncResponse), sync
        bodies: list[str] = []
        for room_id, info in sync.rooms.invite.items():
            if any(
                isinstance(e, InviteMemberEvent) and e.sender == f"@notices:{SERVER_NAME}"
                for e in info.invite_state
            ):
                await client.join(room_id)
                messages = await client.room_messages(room_id, start="", limit=20)
                assert isinstance(messages, RoomMessagesResponse), messages
                bodies += [getattr(e, "body", "") for e in messages.chunk]
        return bodies
    finally:
        await client.close()


def test_server_notice_reaches_a_user_of_the_deployed_server(deployed: Deployed) -> None:
    reader = create_account(deployed.site, f"reader-{secrets.token_hex(3)}")
    text = f"Maintenance tonight, {secrets.token_hex(3)}"
    wmx("notice", "send", "--to", reader.user_id, text, site=deployed.site.paths.root)
    assert text in asyncio.run(_notice_bodies(deployed, reader))
