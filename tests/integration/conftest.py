"""Integration fixtures.

Administration (test_admin_*.py): one real Synapse for the whole session, a site whose
secrets it shares, and the real `wmx` CLI driven through Typer's CliRunner against it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import pytest
from typer.testing import CliRunner, Result

from tests.conftest import answers, password_login, require_tool
from tests.e2e.clients import wait_until
from tests.integration.irc_rig import IrcRig, start_rig
from tests.integration.synapse_server import SERVER_NAME, TestSynapse, start_synapse
from wmx.admin.account import admin_session, token_path
from wmx.admin.client import SynapseAdmin
from wmx.admin.registration import register_user
from wmx.site import Site, load_site
from wmx.site.init import init_site


@dataclass
class Account:
    user_id: str
    localpart: str
    password: str = field(repr=False)


@dataclass
class AdminLab:
    """The test Synapse, the site that administers it, and ways to act as its users."""

    synapse: TestSynapse
    site: Site
    runner: CliRunner = field(default_factory=CliRunner)
    outputs: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.synapse.url

    def wmx(self, *args: str, input: str | None = None, expect: int | None = 0) -> Result:
        """Run the real CLI (`--url` through $WMX_ADMIN_URL) and check its exit code."""
        from wmx.cli import app

        result = self.runner.invoke(
            app,
            ["--site", str(self.site.paths.root), *args],
            input=input,
            env={"WMX_ADMIN_URL": self.url, "COLUMNS": "200"},
        )
        output = result.stdout + result.stderr
        self.outputs.append(output)
        self.assert_no_secrets(output)
        if expect is not None and result.exit_code != expect:
            raise AssertionError(
                f"wmx {' '.join(args)} exited {result.exit_code}, expected {expect}:\n{output}"
                + (f"\n{result.exception!r}" if result.exception else "")
            )
        return result

    def assert_no_secrets(self, text: str) -> None:
        for value in self.site.secrets.values():
            assert value not in text, "a site secret appeared in wmx's output"
        token = token_path(self.site)
        if token.exists():
            assert token.read_text().strip() not in text, "the admin token appeared in output"

    def account(self, prefix: str = "user", *, admin: bool = False) -> Account:
        """A fresh account, registered with the shared secret (not through wmx)."""
        localpart = f"{prefix}-{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(16)
        user = register_user(
            self.url,
            self.site.secrets.registration_shared_secret,
            localpart,
            password,
            admin=admin,
        )
        return Account(user.user_id, localpart, password)

    def login(self, user: str, password: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/_matrix/client/v3/login", json=password_login(user, password), timeout=30
        )

    def token_of(self, account: Account) -> str:
        response = self.login(account.user_id, account.password)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def client(self, token: str) -> httpx.Client:
        """An httpx client acting as a Matrix user."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def create_room(self, token: str, **body: object) -> str:
        with self.client(token) as http:
            response = http.post("/_matrix/client/v3/createRoom", json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["room_id"])

    def settled(self, room_id: str, **expected: object) -> None:
        """Wait until Synapse's room details show `expected` (e.g. joined_members=3).

        The room list, its search, sorting and empty-room filter, and the name in the
        details come from Synapse's room stats, which a background job fills in after the
        request that changed the room has answered; a check made at once can see the room
        as it was. The wait fails with the last details seen."""
        with admin_session(self.site, self.url) as api:

            def check() -> bool:
                room = dict(api.rooms.get(room_id))
                # An assertion, not a false return: its message carries what was seen.
                assert all(room.get(key) == value for key, value in expected.items()), room
                return True

            what = f"the room stats of {room_id} to show {expected}"
            wait_until(check, what, timeout=60, every=0.2)

    def join(self, token: str, room: str) -> httpx.Response:
        with self.client(token) as http:
            return http.post(f"/_matrix/client/v3/join/{quote(room, safe='')}", json={})

    def send(self, token: str, room_id: str, text: str) -> httpx.Response:
        with self.client(token) as http:
            return http.put(
                f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/send/m.room.message/"
                f"{secrets.token_hex(8)}",
                json={"msgtype": "m.text", "body": text},
            )


@pytest.fixture(scope="session")
def admin_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminLab]:
    root = tmp_path_factory.mktemp("admin")
    site_dir = init_site(root / "site", answers(SERVER_NAME)).root
    site = load_site(site_dir)
    synapse = start_synapse(root / "synapse", site.secrets)
    try:
        yield AdminLab(synapse=synapse, site=site)
    finally:
        synapse.stop()
        if os.environ.get("WMX_SHOW_SYNAPSE_LOG"):
            print(synapse.log_tail(200))


@pytest.fixture
def admin_api(admin_lab: AdminLab) -> Iterator[SynapseAdmin]:
    """wmx's own signed-in client, to check what the CLI did."""
    with admin_session(admin_lab.site, admin_lab.url) as api:
        yield api


@pytest.fixture(scope="module")
def irc_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IrcRig]:
    """Synapse, Heisenbridge and ngircd on loopback (tests/integration/irc_rig.py), one set
    per test module."""
    require_tool("ngircd")
    rig = start_rig(tmp_path_factory.mktemp("irc"))
    try:
        yield rig
    finally:
        rig.stop()
