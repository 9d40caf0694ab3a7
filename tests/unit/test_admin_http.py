"""The Admin API client's HTTP layer: retries after 429, error mapping, pagination, and
that the access token never shows up anywhere but the Authorization header."""

from __future__ import annotations

import json
import socket
from contextlib import nullcontext

import httpx
import pytest

from wmx.admin.client import SynapseAdmin
from wmx.admin.http import (
    AdminApiError,
    NotFoundError,
    UnauthorizedError,
    endpoint,
    retry_delay,
)
from wmx.admin.notices import NoticesDisabledError
from wmx.errors import InputError, WmxError
from wmx.site import Site

TOKEN = "syt_very_secret_token"


def _admin(handler: httpx.MockTransport, sleeps: list[float] | None = None) -> SynapseAdmin:
    return SynapseAdmin(
        "http://synapse.invalid",
        TOKEN,
        server_name="wmx.test",
        transport=handler,
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
    )


def test_429_is_retried_after_retry_after_ms() -> None:
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(429, json={"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1500})
        return httpx.Response(200, json={"user_id": "@wmx-admin:wmx.test"})

    sleeps: list[float] = []
    admin = _admin(httpx.MockTransport(handle), sleeps)
    assert admin.whoami() == "@wmx-admin:wmx.test"
    assert sleeps == [1.5, 1.5]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in calls)


def test_429_gives_up_after_retries_with_one_line() -> None:
    admin = _admin(httpx.MockTransport(lambda r: httpx.Response(429, json={})))
    with pytest.raises(AdminApiError, match="kept rate-limiting"):
        admin.whoami()


def test_a_wait_longer_than_wmx_sleeps_is_said_at_once() -> None:
    """Logins limited for minutes (rc_login.address): five silent half-minute retries
    had ended in "kept rate-limiting"; the wait asked for is said at once."""
    sleeps: list[float] = []
    limited = httpx.Response(429, json={"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 312_400})
    admin = _admin(httpx.MockTransport(lambda r: limited), sleeps)
    said = r"rate-limits GET .* for another 313 s; try again then"
    with pytest.raises(AdminApiError, match=said):
        admin.whoami()
    assert sleeps == []


def test_backoff_without_retry_after() -> None:
    response = httpx.Response(429, json={"errcode": "M_LIMIT_EXCEEDED"})
    assert [retry_delay(response, n) for n in range(3)] == [0.5, 1.0, 2.0]
    assert retry_delay(httpx.Response(429, headers={"Retry-After": "3"}), 0) == 3.0
    assert retry_delay(httpx.Response(429, json={"retry_after_ms": 10**9}), 0) == 30.0


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (401, {"errcode": "M_UNKNOWN_TOKEN", "error": "Invalid token"}, UnauthorizedError, "401"),
        (
            403,
            {"errcode": "M_FORBIDDEN", "error": "You are not a server admin"},
            AdminApiError,
            "not a server admin",
        ),
        (
            404,
            {"errcode": "M_NOT_FOUND", "error": "User not found"},
            NotFoundError,
            "unknown user @x:wmx.test",
        ),
        (
            404,
            {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"},
            AdminApiError,
            "does not know",
        ),
        (400, {"errcode": "M_INVALID_PARAM", "error": "bad"}, InputError, "refused"),
        (500, {"errcode": "M_UNKNOWN", "error": "Internal server error"}, AdminApiError, "500"),
        (502, "<html>Bad Gateway</html>", AdminApiError, "502"),
    ],
)
def test_errors_are_one_line_and_never_hold_the_token(
    status: int, body: object, error: type[Exception], text: str
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    admin = _admin(httpx.MockTransport(handle))
    with pytest.raises(error) as caught:
        admin.users.get("@x:wmx.test")
    message = str(caught.value)
    assert text in message and "\n" not in message and TOKEN not in message
    assert TOKEN not in repr(admin) and TOKEN not in repr(admin.http)


def test_connection_failure() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused")

    with pytest.raises(Exception, match=r"cannot reach Synapse at http://synapse\.invalid"):
        _admin(httpx.MockTransport(handle)).whoami()


def test_pagination_follows_next_token_up_to_limit() -> None:
    users = [{"name": f"@u{n}:wmx.test"} for n in range(250)]
    seen: list[dict[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        start, size = int(params["from"]), int(params["limit"])
        page = users[start : start + size]
        body: dict[str, object] = {"users": page, "total": len(users)}
        if start + size < len(users):
            body["next_token"] = str(start + len(page))
        return httpx.Response(200, json=body)

    admin = _admin(httpx.MockTransport(handle))
    everyone = admin.users.listing()
    assert len(everyone.items) == 250 and everyone.total == 250
    assert [p["from"] for p in seen] == ["0", "100", "200"]
    assert seen[0]["guests"] == "false" and seen[0]["deactivated"] == "false"
    some = admin.users.listing(limit=120)
    assert len(some.items) == 120


def test_ids_are_quoted_in_paths() -> None:
    assert endpoint("/rooms/{}/state", "!a/b:c") == "/rooms/%21a%2Fb%3Ac/state"
    paths: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(200, json={"room_id": "!r"})

    _admin(httpx.MockTransport(handle)).rooms.resolve_alias("#a/b?c:wmx.test")
    assert paths == ["/_matrix/client/v3/directory/room/%23a%2Fb%3Fc%3Awmx.test"]
    assert json.dumps(paths)  # plain ASCII, nothing left unquoted


def test_disabled_server_notices_are_explained() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={"errcode": "M_UNKNOWN", "error": "Server notices are not enabled on this server"},
        )

    with pytest.raises(NoticesDisabledError, match="server_notices section"):
        _admin(httpx.MockTransport(handle)).notices.send("@a:wmx.test", "hello")


def test_synapse_down_behind_the_tunnel_names_the_host_not_the_local_port(
    one_host: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Synapse stopped, `wmx user list` said `cannot reach Synapse at
    http://127.0.0.1:50261: Server disconnected…` (seen on the demo site): the tunnel's
    local end, a port the operator never chose. The host and where to look instead."""
    from wmx.admin import account

    with socket.socket() as probe:  # a local port nothing listens on: refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    local = f"http://127.0.0.1:{port}"
    monkeypatch.setattr(account, "reach_synapse", lambda site, url=None: nullcontext(local))
    with pytest.raises(WmxError) as caught, account.admin_session(one_host):
        pass
    message = str(caught.value)
    assert message.startswith("Synapse on hs1 does not answer (reached over SSH, port 8008 there)")
    assert message.endswith("`wmx status` says whether it runs, `wmx logs synapse` why not")
    assert str(port) not in message and "\n" not in message


def test_a_wait_beyond_any_number_is_no_traceback() -> None:
    """`retry_after_ms: 1e400` reads as infinity: as no wait said (backoff), never an
    OverflowError from rounding it."""
    endless = httpx.Response(429, content=b'{"retry_after_ms": 1e400}')
    assert retry_delay(endless, 0) == 0.5
    admin = _admin(httpx.MockTransport(lambda r: endless))
    with pytest.raises(AdminApiError, match="kept rate-limiting"):
        admin.whoami()
