"""Answers Synapse would never give, and where wmx is pointed at something that is not
Synapse: one error line each (what answered, shortened and escaped), never a traceback
or a listing without end; and the values checked before they reach Synapse (room list
direction, report numbers, names not in lowercase)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from wmx.admin import account
from wmx.admin.client import SynapseAdmin
from wmx.admin.http import NotFoundError, UnexpectedReply
from wmx.admin.rooms import room_list_direction
from wmx.errors import InputError, WmxError
from wmx.site import Site

TOKEN = "syt_very_secret_token"


def _admin(handle: Any) -> SynapseAdmin:
    return SynapseAdmin(
        "http://synapse.invalid",
        TOKEN,
        server_name="wmx.test",
        transport=httpx.MockTransport(handle),
        sleep=lambda _: None,
    )


# Room list order ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "order", ["joined_members", "joined_local_members", "version", "state_events"]
)
def test_desc_is_largest_first_for_the_orderings_synapse_sorts_largest_first(order: str) -> None:
    """Synapse orders these largest first with dir=f: `--desc` sent dir=b, the smallest
    first (`--sort joined_members --desc` listed empty rooms)."""
    assert room_list_direction(order, descending=True) == "f"
    assert room_list_direction(order, descending=False) == "b"


@pytest.mark.parametrize("order", ["name", "canonical_alias", "creator", "public"])
def test_desc_is_last_first_for_the_other_orderings(order: str) -> None:
    assert room_list_direction(order, descending=True) == "b"
    assert room_list_direction(order, descending=False) == "f"


def test_the_listing_sends_that_direction() -> None:
    sent: list[httpx.QueryParams] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.params)
        return httpx.Response(200, json={"rooms": [], "total_rooms": 0})

    rooms = _admin(handle).rooms
    rooms.listing(order_by="joined_members", backwards=True)
    rooms.listing(order_by="joined_members")
    rooms.listing(order_by="name", backwards=True)
    assert [(p["order_by"], p["dir"]) for p in sent] == [
        ("joined_members", "f"),
        ("joined_members", "b"),
        ("name", "b"),
    ]


# Malformed answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"[1,2]", "JSON not an object"),
        (b"<html>\x1b]0;title\x07 proxy page</html>", "something not JSON"),
        (b"{}", "JSON without 'user_id'"),
    ],
)
def test_a_malformed_200_is_one_line_quoting_what_answered(body: bytes, what: str) -> None:
    admin = _admin(lambda r: httpx.Response(200, content=body))
    with pytest.raises(UnexpectedReply) as caught:
        admin.whoami()
    message = str(caught.value)
    assert what in message and "Synapse answered 200" in message
    assert "\n" not in message and "\x1b" not in message and "\x07" not in message
    assert caught.value.exit_code == 1


def test_a_user_show_given_a_list_is_no_traceback() -> None:
    """The probe's proxy answered `[1,2]` for GET /v2/users/…: AttributeError, 72 lines."""
    with pytest.raises(UnexpectedReply, match=r"\[1,2\]"):
        _admin(lambda r: httpx.Response(200, content=b"[1,2]")).users.get("@a:wmx.test")


def test_the_quote_is_short_and_hides_an_echoed_token() -> None:
    echoed = f'{{"headers": "Authorization: Bearer {TOKEN}"}}'.encode()
    with pytest.raises(UnexpectedReply) as short:
        _admin(lambda r: httpx.Response(200, content=b"x" * 5000)).whoami()
    assert len(str(short.value)) < 200 and str(short.value).endswith("…")
    with pytest.raises(UnexpectedReply) as caught:
        _admin(lambda r: httpx.Response(200, content=echoed)).whoami()
    assert TOKEN not in str(caught.value) and "<hidden>" in str(caught.value)


def test_a_listing_that_is_not_a_list_is_one_line() -> None:
    admin = _admin(lambda r: httpx.Response(200, json={"users": "abc", "total": 3}))
    with pytest.raises(UnexpectedReply, match="'users' not a list"):
        admin.users.listing()


def test_a_next_token_that_repeats_stops_the_listing() -> None:
    """The same page with `next_token: "zz"` again and again printed the same user until
    killed."""
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["from"])
        return httpx.Response(200, json={"users": [{"name": "@a:wmx.test"}], "next_token": "zz"})

    with pytest.raises(UnexpectedReply, match="next_token 'zz' repeats an earlier page's"):
        list(_admin(handle).users.pages())
    assert calls == ["0", "zz"]


@pytest.mark.parametrize("token", [0, "0", {"x": 1}, True])
def test_a_next_token_back_to_the_start_or_no_token_at_all_stops(token: object) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"rooms": [{"room_id": "!a"}], "next_batch": token})

    with pytest.raises(UnexpectedReply, match="stopped after 1 items"):
        list(_admin(handle).rooms.pages())


def test_the_room_directory_stops_on_a_repeated_batch() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"chunk": [{"room_id": "!a"}], "next_batch": "b1"})

    with pytest.raises(UnexpectedReply, match="next_batch 'b1' repeats"):
        _admin(handle).rooms.public_rooms()


def test_an_advancing_listing_still_reads_to_the_end() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["from"])
        more = {"next_token": str(start + 1)} if start < 4 else {}
        return httpx.Response(200, json={"users": [{"name": f"@u{start}:w"}], **more})

    assert len(_admin(handle).users.listing().items) == 5


# Report numbers, names in capitals ------------------------------------------------------


def test_a_report_number_synapse_cannot_store_is_refused_unsent() -> None:
    """`wmx reports show 99999999999999999999999` reached Synapse, which failed (500)."""
    sent: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json={})

    admin = _admin(handle)
    for call in (admin.reports.get, admin.reports.resolve):
        with pytest.raises(InputError, match="not an event report number"):
            call(99999999999999999999999)
    assert sent == []


def _users(existing: set[str]) -> SynapseAdmin:
    def handle(request: httpx.Request) -> httpx.Response:
        user_id = request.url.path.rsplit("/", 1)[1]
        if user_id in existing:
            return httpx.Response(200, json={"name": user_id})
        return httpx.Response(404, json={"errcode": "M_NOT_FOUND", "error": "User not found"})

    return _admin(handle)


def test_a_name_in_capitals_names_the_lowercase_account_that_exists() -> None:
    """Synapse registered `UPPER` as @upper; `wmx user show UPPER` said only that
    @UPPER is unknown."""
    admin = _users({"@upper:wmx.test"})
    with pytest.raises(NotFoundError) as caught:
        admin.users.get("@UPPER:wmx.test")
    assert str(caught.value).endswith("and @upper:wmx.test exists: did you mean it?")
    assert caught.value.exit_code == 2
    assert not admin.users.exists("@UPPER:wmx.test")  # never acted on in its place


def test_a_name_in_capitals_is_still_found_as_it_is() -> None:
    assert _users({"@Historic:wmx.test"}).users.get("@Historic:wmx.test")["name"]


def test_no_suggestion_when_the_lowercase_account_is_missing_too() -> None:
    with pytest.raises(NotFoundError) as caught:
        _users(set()).users.get("@UPPER:wmx.test")
    assert str(caught.value) == (
        "unknown user @UPPER:wmx.test (no such account on this homeserver)"
    )


# --url that does not lead to Synapse ------------------------------------------------------


def test_a_url_with_a_path_is_refused_up_front() -> None:
    with pytest.raises(InputError) as caught:
        account.check_admin_url("http://127.0.0.1:8008/_synapse")
    assert "without a path ('/_synapse')" in str(caught.value)
    assert "http://127.0.0.1:8008:" in str(caught.value)
    assert account.check_admin_url("http://127.0.0.1:8008/") == "http://127.0.0.1:8008"


class _NotSynapse(BaseHTTPRequestHandler):
    status = 404
    body = b"Not Found"

    def _answer(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def not_synapse() -> Iterator[tuple[str, type[_NotSynapse]]]:
    handler = type("Handler", (_NotSynapse,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("status", "body", "cause"),
    [
        (404, b"Not Found", "404 for POST /_matrix/client/v3/login"),
        (200, b"<html>It works!</html>", "answered 200 with something not JSON"),
        (405, b"", "405 for POST /_matrix/client/v3/login"),
    ],
)
def test_a_url_where_synapse_does_not_answer_says_so(
    one_host: Site,
    not_synapse: tuple[str, type[_NotSynapse]],
    status: int,
    body: bytes,
    cause: str,
) -> None:
    """`--url` at another web server said `error: not found: Not Found` (exit 2)."""
    url, handler = not_synapse
    handler.status, handler.body = status, body
    with pytest.raises(WmxError) as caught, account.admin_session(one_host, url):
        pass
    message = str(caught.value)
    assert message.startswith(f"--url {url} does not lead to Synapse's Admin API")
    assert cause in message and "\n" not in message
    assert one_host.secrets.wmx_admin_password not in message
    assert caught.value.exit_code == 2
