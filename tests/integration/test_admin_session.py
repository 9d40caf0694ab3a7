"""How wmx signs in: its own admin account, the cached token, re-login, clear errors."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import AdminLab
from wmx.admin.account import admin_session, token_path
from wmx.admin.client import SynapseAdmin
from wmx.admin.http import AdminApiError
from wmx.site import Site, load_site
from wmx.site.secrets import write_secrets

pytestmark = pytest.mark.integration


def test_wmx_admin_account_and_token_file(admin_lab: AdminLab, admin_api: SynapseAdmin) -> None:
    admin_lab.wmx("user", "list")
    path = token_path(admin_lab.site)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o077 == 0
    details = admin_api.users.get("@wmx-admin:wmx.test")
    assert details["admin"] is True
    assert admin_api.whoami() == "@wmx-admin:wmx.test"
    assert "<hidden>" in repr(admin_api.http) and path.read_text().strip() not in repr(admin_api)


def test_revoked_token_is_replaced_by_a_new_login(admin_lab: AdminLab) -> None:
    admin_lab.wmx("user", "list")
    path = token_path(admin_lab.site)
    old = path.read_text().strip()
    logout = httpx.post(
        f"{admin_lab.url}/_matrix/client/v3/logout",
        headers={"Authorization": f"Bearer {old}"},
        timeout=30,
    )
    assert logout.status_code == 200
    admin_lab.wmx("user", "list")
    new = path.read_text().strip()
    assert new != old
    # wmx logs in on one device, whatever how often it had to sign in again.
    with admin_session(admin_lab.site, admin_lab.url) as api:
        devices = api.users.devices("@wmx-admin:wmx.test")
    assert [d["device_id"] for d in devices if d["device_id"] == "WMXADMIN"] == ["WMXADMIN"]


def test_garbage_token_file_is_replaced(admin_lab: AdminLab) -> None:
    path = token_path(admin_lab.site)
    path.write_text("syt_not_a_real_token\n")
    admin_lab.wmx("user", "list")
    assert path.read_text().strip() != "syt_not_a_real_token"


def test_url_must_be_a_base_url(admin_lab: AdminLab) -> None:
    for bad in ("ftp://example.org", "http://user:pw@10.0.0.1:8008", "10.0.0.1:8008"):
        result = admin_lab.wmx("user", "list", "--url", bad, expect=2)
        assert "is not a base URL" in result.stderr


def test_unreachable_synapse_is_one_clear_line(admin_lab: AdminLab) -> None:
    result = admin_lab.wmx("room", "list", "--url", "http://127.0.0.1:9", expect=1)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach Synapse at http://127.0.0.1:9" in lines[0]


def test_passwords_never_on_the_command_line(admin_lab: AdminLab) -> None:
    result = admin_lab.wmx("user", "create", "zed", "--password", "hunter2", expect=2)
    assert "no such option --password" in result.stderr


def test_forbidden_is_explained(admin_lab: AdminLab) -> None:
    """A non-admin token gets Synapse's 403, told in one line."""
    someone = admin_lab.account("plain")
    token = admin_lab.token_of(someone)
    with (
        SynapseAdmin(admin_lab.url, token, server_name="wmx.test") as api,
        pytest.raises(AdminApiError) as caught,
    ):
        api.users.listing()
    assert "forbidden (403 M_FORBIDDEN)" in str(caught.value)
    assert token not in str(caught.value)


def test_json_output_everywhere_parses(admin_lab: AdminLab) -> None:
    for args in (("user", "list"), ("room", "list"), ("regtoken", "list"), ("reports", "list")):
        json.loads(admin_lab.wmx(*args, "-o", "json").stdout)


def test_bootstrap_creates_the_first_admin_then_only_explains(
    admin_lab: AdminLab, admin_api: SynapseAdmin
) -> None:
    created = admin_lab.wmx("admin", "bootstrap", "first-admin")
    assert "Created admin @first-admin:wmx.test" in created.stdout
    password = created.stdout.split("Password:", 1)[1].split()[0]
    assert admin_lab.login("first-admin", password).status_code == 200
    assert admin_api.users.get("@first-admin:wmx.test")["admin"] is True

    again = admin_lab.wmx("admin", "bootstrap", "first-admin")
    assert "exists already (a server admin)" in again.stdout and "Password:" not in again.stdout
    assert admin_lab.login("first-admin", password).status_code == 200


def _site_copy(admin_lab: AdminLab, target: Path, wmx_admin_password: str) -> Site:
    """The same homeserver administered from another site directory whose secrets.yml
    has another wmx_admin_password (as after a lost and regenerated secrets.yml)."""
    target.mkdir()
    for name in ("wmx.yaml", "inventory.yml"):
        shutil.copy(admin_lab.site.paths.root / name, target / name)
    secrets = dataclasses.replace(admin_lab.site.secrets, wmx_admin_password=wmx_admin_password)
    write_secrets(target / "secrets.yml", secrets)
    return load_site(target)


def test_wmx_admin_with_another_password_is_set_straight(
    admin_lab: AdminLab, tmp_path: Path
) -> None:
    other = _site_copy(admin_lab, tmp_path / "other", "a-different-wmx-admin-password")
    with admin_session(other, admin_lab.url) as api:
        assert api.whoami() == "@wmx-admin:wmx.test"
        helpers = [u for u in api.users.listing(deactivated=True).items if "recovery" in u["name"]]
        assert helpers and all(u["deactivated"] for u in helpers)
        assert api.users.get("@wmx-admin:wmx.test")["admin"] is True
    assert admin_lab.login("wmx-admin", "a-different-wmx-admin-password").status_code == 200
    # The original site sets it back the same way on its next command.
    admin_lab.wmx("user", "list")
    assert (
        admin_lab.login("wmx-admin", admin_lab.site.secrets.wmx_admin_password).status_code == 200
    )


def test_locked_wmx_admin_is_unlocked(admin_lab: AdminLab) -> None:
    # (A deactivated wmx-admin is reactivated the same way on PostgreSQL; Synapse 1.163
    # fails to reactivate accounts on SQLite, which these tests use.)
    helper = admin_lab.account("helper", admin=True)
    with SynapseAdmin(admin_lab.url, admin_lab.token_of(helper), server_name="wmx.test") as api:
        api.users.set_locked("@wmx-admin:wmx.test", True)
    result = admin_lab.wmx("user", "show", "wmx-admin", "-o", "json")
    assert json.loads(result.stdout)["locked"] is False
