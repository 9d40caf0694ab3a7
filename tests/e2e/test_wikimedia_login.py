"""Logging in with a Wikimedia account on a deployed lab site (issue 15).

Run under the lab lock:
`flock /tmp/wmx-lab.lock .venv/bin/pytest tests/e2e/test_wikimedia_login.py`.

No deploy of its own: the session's shared site (fixture `deployed`) gets `login:` on as
an operator in the lab would switch it on (`wmx config set login …` with the lab
consumer's key and SUL-only, then `wmx lab up --site`, which points it at the lab's Meta
stand-in, meta.lab.test, and stores the consumer's secret), and Cinny as its web client
(the shared release archive, as tests/e2e/test_web_client.py installs it); one
`wmx deploy` applies both, one more puts the site back afterwards.

Every test account goes through the whole flow over the site's TLS and nginx and the
stand-in's TLS from the lab CA: Synapse's SSO redirect, the consent page, Synapse's
callback, the login token, /login with m.login.token; with the expected Matrix id and
display name. Then a person in a real browser follows a `wmx room link` while logged
out, clicks the Wikimedia button on Cinny's login page, allows on the consent page,
lands in the room and sends a message that the room's owner receives.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import require
from tests.e2e import browser
from tests.e2e.clients import trusting
from tests.e2e.conftest import Deployed, wmx
from tests.e2e.settings import current_settings, set_settings
from tests.integration.test_wikimedia_login_browser import log_in_through_a_room_link
from wmx.agent.wikimedia_login import localpart, max_localpart
from wmx.lab import meta
from wmx.lab.cinny import cinny_archive
from wmx.lab.wikimedia import AUTHORIZE, LAB_ACCOUNTS
from wmx.site import load_config

# The settings this module changes (and puts back).
WEB_CLIENT_KEYS = [
    "web_client.archive",
    "web_client.sha256",
    "web_client.version",
    "web_client.kind",
]


@dataclass
class Login:
    site: Deployed
    meta: meta.MetaServerConfig
    client: str

    @property
    def server_name(self) -> str:
        return self.site.site.config.server_name

    @property
    def root(self) -> Path:
        return self.site.site.paths.root


@pytest.fixture(scope="module")
def login_on(deployed: Deployed) -> Iterator[Login]:
    root = deployed.site.paths.root
    lab_meta = deployed.lab.meta
    before = current_settings(deployed, WEB_CLIENT_KEYS)
    key = meta.consumer(lab_meta).client_id
    try:
        wmx("config", "set", "login", f"{{provider: wikimedia, consumer_key: '{key}'}}", site=root)
        wmx("config", "set", "login.sul_only", "true", site=root)
        # The lab points the site at its Meta and stores the consumer's secret.
        wmx("lab", "up", "--hosts", "1", "--site", str(root))
        login = load_config(deployed.site.paths).login
        assert (login.wiki_url, login.script_path) == (lab_meta.url, "/w")
        archive = cinny_archive()
        set_settings(
            deployed,
            {
                "web_client.archive": str(archive.path),
                "web_client.sha256": archive.sha256,
                "web_client.version": archive.version,
                "web_client.kind": "cinny",
            },
        )
        wmx("deploy", site=root)
        yield Login(deployed, lab_meta, f"https://{deployed.site.config.web_client.host}/")
    finally:
        # Off again for the modules after this one (`config set login {}` would merge an
        # empty mapping into the section, changing nothing): SUL-only first, as the site
        # refuses SUL-only without a provider.
        wmx("config", "set", "login.sul_only", "false", site=root)
        wmx("config", "set", "login.provider", "null", site=root)
        set_settings(deployed, before)
        wmx("deploy", site=root)


@dataclass
class Outcome:
    callback: httpx.Response
    login_token: str | None


def sso_flow(login: Login, sub: int) -> Outcome:
    site = login.site
    with httpx.Client(verify=trusting(site.trust), timeout=60) as web:
        start = web.get(
            f"{site.homeserver_url}/_matrix/client/v3/login/sso/redirect/oidc-wikimedia",
            params={"redirectUrl": login.client},
        )
        assert start.status_code == 302, start.text
        authorize = start.headers["location"]
        assert authorize.startswith(f"{login.meta.url}{AUTHORIZE}?"), authorize
        consent = web.get(authorize)
        assert consent.status_code == 200 and "verify your identity" in consent.text
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', consent.text))
        fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
        allowed = web.post(
            f"{login.meta.url}{AUTHORIZE}", data={**fields, "account": str(sub), "approve": "1"}
        )
        assert allowed.status_code == 302, allowed.text
        back = allowed.headers["location"]
        assert back.startswith(f"{site.homeserver_url}/_synapse/client/oidc/callback?code=")
        callback = web.get(back)  # the oidc_session cookie rides along (https)
    token = None
    if callback.status_code == 302:
        target = callback.headers["location"]
        assert target.startswith(login.client), target
        token = parse_qs(urlsplit(target).query)["loginToken"][0]
    return Outcome(callback, token)


def _post_login(login: Login, body: dict[str, Any]) -> httpx.Response:
    site = login.site
    return httpx.post(
        f"{site.homeserver_url}/_matrix/client/v3/login",
        json=body,
        verify=trusting(site.trust),
        timeout=60,
    )


def log_in(login: Login, account: str) -> dict[str, Any]:
    outcome = sso_flow(login, LAB_ACCOUNTS[account].sub)
    assert outcome.login_token, outcome.callback.text[-2000:]
    response = _post_login(login, {"type": "m.login.token", "token": outcome.login_token})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def display_name(login: Login, user_id: str) -> str:
    site = login.site
    response = httpx.get(
        f"{site.homeserver_url}/_matrix/client/v3/profile/{user_id}/displayname",
        verify=trusting(site.trust),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["displayname"])


def _taken(login: Login, user_id: str) -> bool:
    """Whether the homeserver already has this account (wmx's admin API, as an operator)."""
    result = wmx("user", "show", user_id, "-o", "json", site=login.root, check=False)
    if result.returncode == 0:
        return True
    assert "no such account" in result.stderr, result.stderr
    return False


def expected_id(login: Login, account: str, failures: int = 0) -> str:
    wiki = LAB_ACCOUNTS[account]
    part = localpart(
        wiki.username, limit=max_localpart(login.server_name), sub=str(wiki.sub), failures=failures
    )
    return f"@{part}:{login.server_name}"


def test_the_login_flows_offer_only_the_wikimedia_button(login_on: Login) -> None:
    site = login_on.site
    flows = httpx.get(
        f"{site.homeserver_url}/_matrix/client/v3/login", verify=trusting(site.trust), timeout=60
    ).json()["flows"]
    sso = next(f for f in flows if f["type"] == "m.login.sso")
    assert sso["identity_providers"] == [{"id": "oidc-wikimedia", "name": "Wikimedia account"}]


@pytest.mark.parametrize("account", ["plain", "non_ascii", "spaces", "longest"])
def test_each_account_logs_in_with_its_mapped_id_and_name(login_on: Login, account: str) -> None:
    # Other modules' people share this site (e.g. a password account `alice`): a mapped
    # name that is taken must never log into that account, but go on to the next
    # candidate of the documented collision rule.
    failures = 0
    while _taken(login_on, expected_id(login_on, account, failures)):
        failures += 1
    user_id = log_in(login_on, account)["user_id"]
    assert user_id == expected_id(login_on, account, failures)
    assert display_name(login_on, user_id) == LAB_ACCOUNTS[account].username


def test_two_names_that_collide_get_two_accounts(login_on: Login) -> None:
    first = log_in(login_on, "collide_a")["user_id"]
    second = log_in(login_on, "collide_b")["user_id"]
    assert first == expected_id(login_on, "collide_a")
    assert second == expected_id(login_on, "collide_b", failures=1)
    assert log_in(login_on, "collide_a")["user_id"] == first


def test_the_blocked_account_is_refused(login_on: Login) -> None:
    outcome = sso_flow(login_on, LAB_ACCOUNTS["blocked"].sub)
    assert outcome.login_token is None
    assert "blocked" in outcome.callback.text


def test_a_renamed_account_keeps_its_matrix_id(login_on: Login) -> None:
    renamed = LAB_ACCOUNTS["renamed"]
    before = log_in(login_on, "renamed")["user_id"]
    assert display_name(login_on, before) == renamed.username
    # A global rename on Meta, between two logins: same sub, new name.
    meta.change_account(login_on.meta, renamed.sub, username="Renamed On Meta")
    try:
        assert log_in(login_on, "renamed")["user_id"] == before
        assert display_name(login_on, before) == "Renamed On Meta"
    finally:
        meta.change_account(login_on.meta, renamed.sub, username=renamed.username)


def test_sul_only_refuses_passwords_while_wmx_admin_commands_work(login_on: Login) -> None:
    person, password = f"pw-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="wmx-e2e-") as scratch:
        password_file = Path(scratch) / "password"
        password_file.touch(mode=0o600)
        password_file.write_text(password + "\n")
        # wmx signs in as wmx-admin with its password: still allowed.
        wmx("user", "create", person, "--password-file", str(password_file), site=login_on.root)
    shown = wmx("user", "show", f"@{person}:{login_on.server_name}", site=login_on.root)
    assert person in shown.stdout
    refused = _post_login(
        login_on,
        {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": person},
         "password": password},
    )  # fmt: skip
    assert refused.status_code == 403, refused.text


def test_room_link_is_the_web_clients_room_page(login_on: Login) -> None:
    alias = f"#welcome:{login_on.server_name}"
    link = wmx("room", "link", alias, site=login_on.root).stdout.strip()
    assert link == f"{login_on.client}home/%23welcome%3A{login_on.server_name}/"
    served = httpx.get(link, verify=trusting(login_on.site.trust), timeout=60)
    assert served.status_code == 200 and "<title>Cinny</title>" in served.text


def _create_room(login: Login, owner: str, alias_name: str) -> str:
    created = httpx.post(
        f"{login.site.homeserver_url}/_matrix/client/v3/createRoom",
        json={"preset": "public_chat", "room_alias_name": alias_name, "name": "Wiki tea room"},
        headers={"Authorization": f"Bearer {owner}"},
        verify=trusting(login.site.trust),
        timeout=60,
    )
    assert created.status_code == 200, created.text
    return str(created.json()["room_id"])


def _bodies(login: Login, room_id: str, token: str) -> list[tuple[str, str]]:
    response = httpx.get(
        f"{login.site.homeserver_url}/_matrix/client/v3/rooms/{room_id}/messages",
        params={"dir": "b", "limit": 50},
        headers={"Authorization": f"Bearer {token}"},
        verify=trusting(login.site.trust),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [
        (e["sender"], e["content"].get("body", ""))
        for e in response.json()["chunk"]
        if e.get("type") == "m.room.message"
    ]


async def _browser_session(login: Login, artifacts: Path) -> None:
    owner = log_in(login, "spaces")["access_token"]
    alias_name = f"wikitea-{secrets.token_hex(3)}"
    room_id = _create_room(login, owner, alias_name)
    alias = f"#{alias_name}:{login.server_name}"
    link = wmx("room", "link", alias, site=login.root).stdout.strip()
    said = f"hello from a Wikimedia account, {secrets.token_hex(4)}"
    watched = {login.server_name, login.site.site.config.homeserver.host}
    async with browser.chromium(Path(login.site.trust), artifacts, watched) as run:
        sub = LAB_ACCOUNTS["newcomer"].sub
        consent = await log_in_through_a_room_link(run, link, sub, "Wiki tea room", said)
        assert consent.startswith(f"{login.meta.url}{AUTHORIZE}?"), consent
        assert not run.csp_violations, "CSP violations:\n" + run.report()
    assert (expected_id(login, "newcomer"), said) in _bodies(login, room_id, owner)


def test_a_person_follows_a_room_link_logs_in_with_wikimedia_and_talks(
    login_on: Login, tmp_path: Path
) -> None:
    require(browser.available(), "needs Debian's chromium, certutil and playwright (dev deps)")
    asyncio.run(_browser_session(login_on, tmp_path / "screenshots"))
