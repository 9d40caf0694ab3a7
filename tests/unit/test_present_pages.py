"""What `wmx user list` and `wmx room list` ask Synapse for: 1,000 items a request,
following its tokens, stopping at --limit; and each page is printed before the next
request goes out."""

from __future__ import annotations

import httpx
import pytest

from wmx.admin.client import SynapseAdmin
from wmx.admin.present import USER_COLUMNS
from wmx.present import OutputFormat
from wmx.present_pages import emit_pages

USERS = [{"name": f"@u{n:04d}:wmx.test", "displayname": f"U {n}"} for n in range(2500)]


def _synapse(
    seen: list[dict[str, str]], key: str = "users", next_key: str = "next_token"
) -> SynapseAdmin:
    def handle(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        start, size = int(params["from"]), int(params["limit"])
        body: dict[str, object] = {key: USERS[start : start + size], "total": len(USERS)}
        if start + size < len(USERS):
            body[next_key] = str(start + size)
        return httpx.Response(200, json=body)

    return SynapseAdmin(
        "http://synapse.invalid", "t", server_name="wmx.test", transport=httpx.MockTransport(handle)
    )


def test_user_pages_are_large_and_follow_the_tokens() -> None:
    seen: list[dict[str, str]] = []
    pages = _synapse(seen).users.pages()
    sizes = [len(page) for page in pages]
    assert sizes == [1000, 1000, 500] and pages.total == 2500 and pages.count == 2500
    assert [p["from"] for p in seen] == ["0", "1000", "2000"]
    assert {p["limit"] for p in seen} == {"1000"}


def test_a_limit_asks_for_no_more_than_it_needs() -> None:
    seen: list[dict[str, str]] = []
    pages = _synapse(seen).users.pages(limit=1200)
    assert [len(page) for page in pages] == [1000, 200]
    assert [p["limit"] for p in seen] == ["1000", "200"]


def test_each_page_is_printed_before_the_next_request(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[dict[str, str]] = []
    printed: list[int] = []
    admin = _synapse(seen)
    original = admin.http.get

    def get(path: str, **kwargs: object) -> object:
        printed.append(capsys.readouterr().out.count("@u"))
        return original(path, **kwargs)

    admin.http.get = get  # type: ignore[method-assign]
    emit_pages(admin.users.pages(), OutputFormat.json, USER_COLUMNS, empty="none")
    assert printed == [0, 1000, 1000]  # what was printed since the request before


def test_rooms_page_with_next_batch() -> None:
    seen: list[dict[str, str]] = []
    admin = _synapse(seen, key="rooms", next_key="next_batch")
    rooms = admin.rooms.pages(order_by="joined_members", backwards=True)
    assert sum(len(page) for page in rooms) == 2500
    # Synapse orders joined_members largest first with dir=f: backwards (--desc) keeps it.
    assert seen[0]["order_by"] == "joined_members" and seen[0]["dir"] == "f"
    assert [p["from"] for p in seen] == ["0", "1000", "2000"]
