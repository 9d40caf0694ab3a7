"""Logging in with a Wikimedia account (issue 15) at the HTTP level, with the real Synapse
wmx deploys (with its `oidc` extra, in a cached venv of its own) and the lab's Meta stand-in
(wmx/lab/wikimedia.py) on loopback: Synapse's OIDC provider is the one wmx renders for
`login:` (conf.d/secrets.yaml's oidc_providers, homeserver.yaml's sso and modules), and
Synapse loads wmx_agent.wikimedia_login from a copy of wmx/agent, as on a host.

No lab host is needed, so this runs without the lab lock. The differences from a
deployed site, each because of loopback http: the endpoints point at the stand-in's
http:// address with `skip_verification` (Synapse's check that the issuer is https), and
Synapse's session cookie (Secure) is passed on by hand.

Every test account goes through the whole flow: the login flows list the Wikimedia
button; the SSO redirect leads to the stand-in's consent page; "Allow" sends the browser
back to Synapse's callback with a code; Synapse fetches the token and the profile, maps
the account and redirects to the client with a login token; /login with m.login.token
gives the expected Matrix id and display name.
"""

from __future__ import annotations

import re
import shutil
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from tests.integration.synapse_server import CACHE, SERVER_NAME, cached_venv, start_synapse
from tests.integration.synapse_server import TestSynapse as RunningSynapse
from tests.unit.render_sites import BASE_CONFIG, SECRETS, files_by_dest, make_site
from wmx.admin.registration import register_user
from wmx.agent import sources
from wmx.agent.wikimedia_login import localpart, max_localpart
from wmx.lab.wikimedia import LAB_ACCOUNTS, Consumer, MetaStandin, start_standin
from wmx.site.model import DEFAULT_SYNAPSE_VERSION
from wmx.site.topology import HostView

CLIENT = "https://chat.wmx.test/"
STANDIN_NAME = "https://meta.lab.test"
CONSUMER = Consumer(
    client_id="0123456789abcdef" * 2, client_secret="lab-consumer-secret", redirect_uri=""
)


def _oidc_python() -> Path:
    """A Synapse venv of its own with the `oidc` extra, cached beside the shared test venv:
    installing into that one would change it under the sessions running Synapse from it."""
    return cached_venv(
        CACHE,
        f"{DEFAULT_SYNAPSE_VERSION}-oidc",
        f"matrix-synapse[oidc]=={DEFAULT_SYNAPSE_VERSION}",
        "synapse.app.homeserver, authlib",
    )


def _rendered_login(tmp_path: Path, wiki_url: str, *, sul_only: bool) -> dict[str, Any]:
    """Synapse's login settings exactly as wmx renders them for this server name."""
    config = {
        **BASE_CONFIG,
        "server_name": SERVER_NAME,
        "web_client": {"host": "chat.wmx.test"},
        "login": {
            "provider": "wikimedia",
            "consumer_key": CONSUMER.client_id,
            "wiki_url": wiki_url,
            "script_path": "/w",
            "sul_only": sul_only,
        },
    }
    host = HostView("hs1", "10.213.0.11", ("database", "homeserver", "proxy", "element"), 2048)
    tmp_path.mkdir(parents=True, exist_ok=True)
    files = files_by_dest(make_site(tmp_path, config, [host]), "hs1")
    homeserver = yaml.safe_load(files["/etc/matrix-synapse/homeserver.yaml"].content)
    secrets = yaml.safe_load(files["/etc/matrix-synapse/conf.d/secrets.yaml"].content)
    return {
        "oidc_providers": secrets["oidc_providers"],
        "sso": homeserver["sso"],
        "modules": homeserver.get("modules", []),
        "enable_registration": homeserver["enable_registration"],
    }


@dataclass
class Rig:
    synapse: RunningSynapse
    meta: MetaStandin


def _start(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    sul_only: bool,
    clients: tuple[str, ...] = (CLIENT,),
) -> Iterator[Rig]:
    python = _oidc_python()
    modules = tmp_path / "wmx-synapse" / "wmx_agent"
    for rel in ("__init__.py", "wikimedia_login.py"):
        (modules / rel).parent.mkdir(parents=True, exist_ok=True)
        (modules / rel).write_text(sources()[rel])
    monkeypatch.setenv("PYTHONPATH", str(modules.parent))
    consumer = Consumer(CONSUMER.client_id, CONSUMER.client_secret, redirect_uri="pending")
    meta = start_standin(consumer)
    # Rendered for an https wiki (login.wiki_url allows nothing else), then pointed at the
    # stand-in's loopback address.
    rendered = _rendered_login(tmp_path / "render", STANDIN_NAME, sul_only=sul_only)
    (provider,) = rendered["oidc_providers"]
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint"):
        assert provider[key].startswith(f"{STANDIN_NAME}/w/rest.php/oauth2/")
        provider[key] = provider[key].replace(STANDIN_NAME, meta.base_url)
    provider["client_secret"] = CONSUMER.client_secret
    # Loopback http: Synapse's metadata check wants an https issuer.
    provider["skip_verification"] = True

    def adjust(settings: dict[str, Any]) -> None:
        settings.update(rendered)
        settings["sso"]["client_whitelist"] = list(clients)
        settings["enable_registration"] = False

    synapse = start_synapse(tmp_path / "synapse", SECRETS, adjust=adjust, python=python)
    consumer.redirect_uri = f"{synapse.url}/_synapse/client/oidc/callback"
    try:
        yield Rig(synapse, meta)
    finally:
        synapse.stop()
        meta.stop()
        shutil.rmtree(modules.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from _start(tmp_path_factory.mktemp("login"), monkeypatch, sul_only=False)


@dataclass
class Outcome:
    callback: httpx.Response
    login_token: str | None


def sso_flow(rig: Rig, sub: int, *, redirect: str = CLIENT) -> Outcome:
    """A browser's way through: Synapse → consent on the stand-in → callback → client."""
    with httpx.Client(timeout=30) as web:
        start = web.get(
            f"{rig.synapse.url}/_matrix/client/v3/login/sso/redirect/oidc-wikimedia",
            params={"redirectUrl": redirect},
        )
        assert start.status_code == 302, start.text
        authorize = start.headers["location"]
        assert authorize.startswith(f"{rig.meta.base_url}/w/rest.php/oauth2/authorize?")
        cookie = re.search(r"oidc_session=([^;]+)", start.headers.get("set-cookie", ""))
        assert cookie, start.headers
        consent = web.get(authorize)
        assert consent.status_code == 200 and "would like to verify your identity" in consent.text
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', consent.text))
        allowed = web.post(
            f"{rig.meta.base_url}/w/rest.php/oauth2/authorize",
            data={
                **{k: v.replace("&amp;", "&") for k, v in fields.items()},
                "account": str(sub),
                "approve": "1",
            },
        )
        assert allowed.status_code == 302, allowed.text
        back = allowed.headers["location"]
        assert back.startswith(f"{rig.synapse.url}/_synapse/client/oidc/callback?code=")
        callback = web.get(back, headers={"Cookie": f"oidc_session={cookie.group(1)}"})
    token = None
    if callback.status_code == 302:
        target = callback.headers["location"]
        assert target.startswith(redirect)
        token = parse_qs(urlsplit(target).query)["loginToken"][0]
    return Outcome(callback, token)


def token_login(rig: Rig, token: str) -> dict[str, Any]:
    response = httpx.post(
        f"{rig.synapse.url}/_matrix/client/v3/login",
        json={"type": "m.login.token", "token": token},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def display_name(rig: Rig, user_id: str) -> str:
    response = httpx.get(
        f"{rig.synapse.url}/_matrix/client/v3/profile/{user_id}/displayname", timeout=30
    )
    assert response.status_code == 200, response.text
    return str(response.json()["displayname"])


def log_in(rig: Rig, account: str) -> str:
    outcome = sso_flow(rig, LAB_ACCOUNTS[account].sub)
    assert outcome.login_token, outcome.callback.text[-2000:]
    return str(token_login(rig, outcome.login_token)["user_id"])


LIMIT = max_localpart(SERVER_NAME)


def test_the_login_flows_offer_the_wikimedia_button(rig: Rig) -> None:
    flows = httpx.get(f"{rig.synapse.url}/_matrix/client/v3/login", timeout=30).json()["flows"]
    sso = next(f for f in flows if f["type"] == "m.login.sso")
    assert sso["identity_providers"] == [{"id": "oidc-wikimedia", "name": "Wikimedia account"}]


@pytest.mark.parametrize("account", ["plain", "non_ascii", "spaces", "longest", "collide_a"])
def test_every_test_account_logs_in_with_its_mapped_id_and_wiki_name(
    rig: Rig, account: str
) -> None:
    wiki = LAB_ACCOUNTS[account]
    user_id = log_in(rig, account)
    assert user_id == f"@{localpart(wiki.username, limit=LIMIT)}:{SERVER_NAME}"
    assert display_name(rig, user_id) == wiki.username
    assert log_in(rig, account) == user_id  # the second login: the same account


def test_a_name_that_collides_gets_its_own_account_never_the_other_persons(rig: Rig) -> None:
    first = log_in(rig, "collide_a")
    second = log_in(rig, "collide_b")
    a, b = LAB_ACCOUNTS["collide_a"], LAB_ACCOUNTS["collide_b"]
    assert localpart(a.username, limit=LIMIT) == localpart(b.username, limit=LIMIT)
    assert first == f"@{localpart(a.username, limit=LIMIT)}:{SERVER_NAME}"
    assert (
        second == f"@{localpart(b.username, limit=LIMIT, sub=str(b.sub), failures=1)}:{SERVER_NAME}"
    )
    assert display_name(rig, second) == b.username
    assert log_in(rig, "collide_a") == first


def test_the_blocked_account_is_refused(rig: Rig) -> None:
    outcome = sso_flow(rig, LAB_ACCOUNTS["blocked"].sub)
    assert outcome.login_token is None
    assert outcome.callback.status_code >= 400
    assert "blocked" in outcome.callback.text


def test_an_account_blocked_after_its_first_login_is_refused_at_the_next(rig: Rig) -> None:
    sub = LAB_ACCOUNTS["newcomer"].sub
    assert log_in(rig, "newcomer")
    rig.meta.state.change(sub, blocked=True)
    try:
        outcome = sso_flow(rig, sub)
        assert outcome.login_token is None and "blocked" in outcome.callback.text
    finally:
        rig.meta.state.change(sub, blocked=False)


def test_a_renamed_account_keeps_its_matrix_id_and_shows_its_new_name(rig: Rig) -> None:
    before = log_in(rig, "renamed")
    rig.meta.state.rename(LAB_ACCOUNTS["renamed"].sub, "New Name")
    after = log_in(rig, "renamed")
    assert after == before
    assert display_name(rig, after) == "New Name"


def test_sul_only_refuses_password_logins_but_wmx_admins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for rig in _start(tmp_path, monkeypatch, sul_only=True):
        person = register_user(
            rig.synapse.url,
            SECRETS.registration_shared_secret,
            "person",
            "pw-person-1",
            admin=False,
        )
        admin = register_user(
            rig.synapse.url,
            SECRETS.registration_shared_secret,
            "wmx-admin",
            "pw-admin-1",
            admin=True,
        )
        assert person.access_token and admin.access_token  # shared-secret registration works

        url = rig.synapse.url

        def password_login(user: str, password: str, url: str = url) -> httpx.Response:
            body = {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user},
                "password": password,
            }
            return httpx.post(f"{url}/_matrix/client/v3/login", json=body, timeout=30)

        refused = password_login("person", "pw-person-1")
        assert refused.status_code == 403, refused.text
        assert password_login("wmx-admin", "pw-admin-1").status_code == 200
        register = httpx.post(f"{rig.synapse.url}/_matrix/client/v3/register", json={}, timeout=30)
        assert register.status_code == 403, register.text
        assert log_in(rig, "plain").startswith("@alice:")  # SSO still lets people in


def test_the_standin_speaks_tls_with_a_certificate_of_the_lab_ca(tmp_path: Path) -> None:
    from wmx.lab import ca

    ca.ensure_ca(tmp_path / "ca.key", tmp_path / "ca.crt")
    ca.ensure_server_cert(
        tmp_path / "ca.key",
        tmp_path / "ca.crt",
        tmp_path / "meta.key",
        tmp_path / "meta.crt",
        ["meta.lab.test"],
        ["127.0.0.1"],
    )
    consumer = Consumer(CONSUMER.client_id, CONSUMER.client_secret, "https://x.test/cb")
    meta = start_standin(consumer, cert=tmp_path / "meta.crt", key=tmp_path / "meta.key")
    trust = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    try:
        assert meta.base_url.startswith("https://127.0.0.1:")
        page = httpx.get(
            f"{meta.base_url}/w/rest.php/oauth2/authorize",
            params={"client_id": CONSUMER.client_id, "response_type": "code", "state": "s"},
            verify=trust,
            timeout=30,
        )
        assert page.status_code == 200 and "Allow" in page.text
        wrong = httpx.post(
            f"{meta.base_url}/w/rest.php/oauth2/access_token",
            data={"grant_type": "authorization_code", "code": "nope", "client_id": "x"},
            verify=trust,
            timeout=30,
        )
        assert wrong.status_code == 401
    finally:
        meta.stop()
