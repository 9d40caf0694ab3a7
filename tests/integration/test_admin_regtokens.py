"""`wmx regtoken …`: a token lets exactly N people register while registration is closed
to everyone without one."""

from __future__ import annotations

import json
import secrets
import time

import httpx
import pytest

from tests.integration.conftest import AdminLab

pytestmark = pytest.mark.integration

NOWHERE = "http://127.0.0.1:9"


def _register(admin_lab: AdminLab, token: str | None) -> httpx.Response:
    """Register through the Client-Server API as Element does (user-interactive auth)."""
    body: dict[str, object] = {
        "username": f"newcomer-{secrets.token_hex(4)}",
        "password": secrets.token_urlsafe(12),
    }
    url = f"{admin_lab.url}/_matrix/client/v3/register"
    response = httpx.post(url, json=body, timeout=30)
    if token is None or response.status_code != 401:
        return response
    session = response.json()["session"]
    [stages] = [f["stages"] for f in response.json()["flows"]]
    assert stages[0] == "m.login.registration_token", stages
    for stage in stages:
        auth: dict[str, object] = {"type": stage, "session": session}
        if stage == "m.login.registration_token":
            auth["token"] = token
        response = httpx.post(url, json={**body, "auth": auth}, timeout=30)
        if response.status_code != 401 or stage not in response.json().get("completed", []):
            return response
    return response


def test_registration_needs_a_token(admin_lab: AdminLab) -> None:
    assert _register(admin_lab, None).status_code == 401
    assert _register(admin_lab, "no-such-token").status_code == 401


def test_token_lets_exactly_n_accounts_register(admin_lab: AdminLab) -> None:
    created = json.loads(admin_lab.wmx("regtoken", "create", "--uses", "2", "-o", "json").stdout)
    token = created["token"]
    assert created["uses_allowed"] == 2
    assert [_register(admin_lab, token).status_code for _ in range(3)] == [200, 200, 401]

    shown = json.loads(admin_lab.wmx("regtoken", "show", token, "-o", "json").stdout)
    assert shown["completed"] == 2
    invalid = json.loads(admin_lab.wmx("regtoken", "list", "--invalid", "-o", "json").stdout)
    assert token in {t["token"] for t in invalid}
    valid = json.loads(admin_lab.wmx("regtoken", "list", "--valid", "-o", "json").stdout)
    assert token not in {t["token"] for t in valid}

    admin_lab.wmx("regtoken", "update", token, "--uses", "3")
    assert _register(admin_lab, token).status_code == 200
    assert _register(admin_lab, token).status_code == 401


def test_chosen_token_with_expiry_update_and_delete(admin_lab: AdminLab) -> None:
    name = f"wikimania-{secrets.token_hex(3)}"
    admin_lab.wmx("regtoken", "create", "--token", name, "--expires", "2999-01-01")
    shown = json.loads(admin_lab.wmx("regtoken", "show", name, "-o", "json").stdout)
    assert shown["expiry_time"] is not None and shown["uses_allowed"] is None
    assert name in admin_lab.wmx("regtoken", "list").stdout

    admin_lab.wmx("regtoken", "update", name, "--expires", "7d")
    shown = json.loads(admin_lab.wmx("regtoken", "show", name, "-o", "json").stdout)
    assert 6 * 86400_000 < shown["expiry_time"] - time.time() * 1000 < 8 * 86400_000

    admin_lab.wmx("regtoken", "update", name, "--no-expiry", "--uses", "5")
    shown = json.loads(admin_lab.wmx("regtoken", "show", name, "-o", "json").stdout)
    assert shown["expiry_time"] is None and shown["uses_allowed"] == 5

    assert _register(admin_lab, name).status_code == 200
    admin_lab.wmx("regtoken", "delete", name, "--yes")
    assert _register(admin_lab, name).status_code == 401
    gone = admin_lab.wmx("regtoken", "show", name, expect=2)
    assert f"unknown registration token '{name}'" in gone.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("regtoken", "create", "--expires", "2001-01-01"), "'2001-01-01'"),
        (("regtoken", "create", "--expires", "next week"), "'next week'"),
        (("regtoken", "create", "--uses", "3", "--expires", "-2d"), "'-2d'"),
        (("regtoken", "create", "--token", "not a token!"), "'not a token!'"),
        (("regtoken", "update", "ok-token"), "nothing to change"),
        (("regtoken", "delete", "bad/token", "--yes"), "'bad/token'"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    admin_lab: AdminLab, args: tuple[str, ...], named: str
) -> None:
    result = admin_lab.wmx(*args, "--url", NOWHERE, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr


def test_random_tokens_are_plain_letters_and_digits(admin_lab: AdminLab) -> None:
    tokens = [
        json.loads(admin_lab.wmx("regtoken", "create", "--length", "24", "-o", "json").stdout)
        for _ in range(5)
    ]
    assert all(len(t["token"]) == 24 and t["token"].isalnum() for t in tokens)
    for token in tokens:
        admin_lab.wmx("regtoken", "delete", token["token"], "--yes")
