"""The HTTP layer under `SynapseAdmin`: one httpx client, errors an operator can act on,
retries when Synapse rate-limits, and pagination.

The access token lives only in this object's request headers: it is never part of a
URL, an error message or a repr, so no traceback or log line can carry it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast
from urllib.parse import quote

import httpx

from wmx import __version__
from wmx.errors import InputError, WmxError

T = TypeVar("T")
Params = Mapping[str, str | int | bool | None]

MAX_RETRIES = 5
# Never wait longer than this for one retry, whatever Synapse asks: the operator is waiting.
MAX_RETRY_DELAY = 30.0
PAGE_SIZE = 100
# Listings people or scripts read whole (`wmx user list`, `room list`, media): few large
# requests, each shown as it arrives. Synapse's Admin API sets no upper bound on `limit`.
LISTING_PAGE_SIZE = 1000

# Synapse's Admin API versions; each group of endpoints builds its paths on these.
V1 = "/_synapse/admin/v1"
V2 = "/_synapse/admin/v2"


class AdminApiError(WmxError):
    """Synapse refused or failed a request; the message says what and why."""

    def __init__(
        self, message: str, *, status: int = 0, errcode: str = "", request: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errcode = errcode
        self.request = request  # the method and path that failed, when known


class UnexpectedReply(AdminApiError):
    """A success status with a body that is not what Synapse sends (not JSON, not an
    object, a field missing): something else answers there, or a proxy in between
    rewrote the answer."""


# How much of an unexpected answer an error line quotes.
SHOWN_REPLY = 60


class SynapseUnreachable(WmxError):
    """No answer from Synapse at all (refused, disconnected, timed out); `cause` says
    which, without the base URL, which through a tunnel is only a local port."""

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


class UnauthorizedError(AdminApiError):
    """401: the access token is missing, expired or revoked."""


class NotFoundError(InputError):
    """404 on something the operator named: exit code 2, like any unknown id.
    `request` is the method and path that got the 404."""

    def __init__(self, message: str, *, errcode: str = "", request: str = "") -> None:
        super().__init__(message)
        self.status = 404
        self.errcode = errcode
        self.request = request


def endpoint(template: str, *segments: str) -> str:
    """Fill `{}` in `template` with URL-quoted segments: ids may hold '/', '#', '?' or ':'."""
    return template.format(*(quote(s, safe="") for s in segments))


@dataclass
class Listing(Generic[T]):
    """Items of a paginated listing, and how many the server has in all (when it says)."""

    items: list[T] = field(default_factory=list)
    total: int | None = None


class PageStream(Generic[T]):
    """A listing fetched one page (one request) at a time as it is iterated, so that a
    caller can show each page as it arrives; `total` is known once the first came."""

    def __init__(self, pages: Callable[[PageStream[T]], Iterator[list[T]]]) -> None:
        self.total: int | None = None
        self.count = 0
        self._pages = pages

    def __iter__(self) -> Iterator[list[T]]:
        for page in self._pages(self):
            self.count += len(page)
            yield page

    def collect(self) -> Listing[T]:
        items = [item for page in self for item in page]
        return Listing(items, self.total)


def shown_reply(text: str, secret: str = "") -> str:
    """The start of an answer for an error line: one line, every control character
    escaped, the access token (an echoing server sends it back) hidden."""
    if secret:
        text = text.replace(secret, "<hidden>")
    quoted = repr(text[:SHOWN_REPLY])
    return quoted + ("…" if len(text) > SHOWN_REPLY else "")


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return (response.text.strip().splitlines() or [response.reason_phrase])[0], ""
    if isinstance(body, dict):
        return str(body.get("error", response.reason_phrase)), str(body.get("errcode", ""))
    return response.reason_phrase, ""


def asked_delay(response: httpx.Response) -> float | None:
    """The seconds a 429 asks for: Synapse's `retry_after_ms`, else its Retry-After
    header; None when it says nothing."""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("retry_after_ms"), int | float):
            seconds = float(body["retry_after_ms"]) / 1000
            return seconds if math.isfinite(seconds) else None  # 1e400 reads as inf
    except ValueError:
        pass
    header = response.headers.get("retry-after", "")
    return float(header) if header.isdigit() else None


def retry_delay(response: httpx.Response, attempt: int) -> float:
    """Seconds to wait after a 429: what it asks for, or exponential backoff (0.5 s,
    1 s, 2 s, ...)."""
    delay = asked_delay(response)
    if delay is None:
        delay = 0.5 * 2**attempt
    return min(max(delay, 0.05), MAX_RETRY_DELAY)


class AdminHttp:
    """Authenticated JSON requests against one Synapse base URL."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 60.0,
        max_retries: int = MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._max_retries = max_retries
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            headers={"User-Agent": f"wmx/{__version__}"},
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"AdminHttp({self.base_url!r}, token=<hidden>)"

    def close(self) -> None:
        self._client.close()

    def set_token(self, token: str) -> None:
        self._token = token

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        not_found: str | None = None,
        authenticated: bool = True,
        keys: tuple[str, ...] = (),
    ) -> Any:
        """Send one request; return its JSON body (a dict, or {} when empty), which
        must hold `keys`.

        `not_found` is the message for a 404, naming what the operator asked for.
        """
        headers = {"Authorization": f"Bearer {self._token}"} if authenticated else {}
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            try:
                response = self._client.request(
                    method, path, params=query, json=json, headers=headers
                )
            except httpx.TimeoutException:
                cause = f"no answer to {method} {path} in time"
                raise SynapseUnreachable(
                    f"Synapse at {self.base_url} did not answer {method} {path} in time", cause
                ) from None
            except httpx.HTTPError as exc:
                cause = str(exc).rstrip(".") or type(exc).__name__
                raise SynapseUnreachable(
                    f"cannot reach Synapse at {self.base_url}: {cause}", cause
                ) from None
            asked = asked_delay(response) if response.status_code == 429 else None
            # A wait longer than wmx would sleep (logins limited for minutes) is said
            # at once: five silent half-minute retries would end in the same error.
            if (
                response.status_code == 429
                and attempt < self._max_retries
                and (asked is None or asked <= MAX_RETRY_DELAY)
            ):
                self._sleep(retry_delay(response, attempt))
                attempt += 1
                continue
            return self._result(response, method, path, not_found, keys)

    def unexpected(self, method: str, path: str, status: int, what: str, body: str) -> Exception:
        """The error for an answer Synapse would not give, quoting its start."""
        request = f"{method} {path.split('?')[0]}"
        return UnexpectedReply(
            f"{request}: Synapse answered {status} with {what}: {shown_reply(body, self._token)}",
            status=status,
            request=request,
        )

    def _result(
        self,
        response: httpx.Response,
        method: str,
        path: str,
        not_found: str | None,
        keys: tuple[str, ...] = (),
    ) -> Any:
        status = response.status_code
        if response.is_success:
            if not response.content and not keys:
                return {}
            try:
                body = response.json() if response.content else {}
            except ValueError:
                raise self.unexpected(
                    method, path, status, "something not JSON", response.text
                ) from None
            if not isinstance(body, dict):
                raise self.unexpected(method, path, status, "JSON not an object", response.text)
            missing = [key for key in keys if key not in body]
            if missing:
                raise self.unexpected(
                    method, path, status, f"JSON without {missing[0]!r}", response.text
                )
            return body
        error, errcode = _error_of(response)
        code = f" {errcode}" if errcode else ""
        request = f"{method} {path.split('?')[0]}"
        if status == 401:
            raise UnauthorizedError(
                f"Synapse rejected wmx's access token (401{code}): {error}",
                status=status,
                errcode=errcode,
            )
        if status == 403:
            raise AdminApiError(f"forbidden (403{code}): {error}", status=status, errcode=errcode)
        if status == 404 and errcode == "M_UNRECOGNIZED":
            raise AdminApiError(
                f"this Synapse does not know {request} (an older release?)",
                status=status,
                errcode=errcode,
                request=request,
            )
        if status == 404:
            raise NotFoundError(
                not_found or f"not found: {error}",
                errcode=errcode,
                request=request,
            )
        if status == 429:
            asked = asked_delay(response)
            raise AdminApiError(
                f"Synapse rate-limits {method} {path} for another {math.ceil(asked)} s; "
                "try again then"
                if asked is not None and asked > MAX_RETRY_DELAY
                else f"Synapse kept rate-limiting {method} {path} after {self._max_retries} "
                "retries; try again later",
                status=status,
                errcode=errcode,
            )
        if status == 400:
            raise InputError(f"Synapse refused the request (400{code}): {error}")
        raise AdminApiError(
            f"{method} {path} failed ({status}{code}): {error}",
            status=status,
            errcode=errcode,
            request=request,
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def get_list(self, path: str, key: str, **kwargs: Any) -> list[Any]:
        """GET an object and return the list under `key` (empty when Synapse omits it)."""
        data = self.get(path, **kwargs)
        items = data.get(key, [])
        if not isinstance(items, list):
            raise self.unexpected("GET", path, 200, f"{key!r} not a list", str(data))
        return items

    def paginate(self, path: str, key: str, **options: Any) -> Listing[Any]:
        """Every item of a paginated listing (`pages`, 100 a request unless `page_size`)."""
        return self.pages(path, key, **{"page_size": PAGE_SIZE, **options}).collect()

    def pages(
        self,
        path: str,
        key: str,
        *,
        params: Params | None = None,
        limit: int | None = None,
        next_key: str = "next_token",
        total_key: str = "total",
        page_size: int = LISTING_PAGE_SIZE,
    ) -> PageStream[Any]:
        """Follow Synapse's `from`/`next_token` pages until the end or `limit` items, one
        request at a time: the pages come as the caller iterates."""

        def fetch(stream: PageStream[Any]) -> Iterator[list[Any]]:
            start: str | int = 0
            seen: set[str] = {"0"}
            count = 0
            while limit is None or count < limit:
                size = page_size if limit is None else min(page_size, limit - count)
                data = self.get(path, params={**(params or {}), "from": start, "limit": size})
                if isinstance(data.get(total_key), int):
                    stream.total = cast(int, data[total_key])
                items = data.get(key) or []
                if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                    raise self.unexpected("GET", path, 200, f"{key!r} not a list", str(data))
                if limit is not None:
                    items = items[: limit - count]
                count += len(items)
                if items:
                    yield items
                following = data.get(next_key)
                if following is None or not items:
                    return
                start = self.next_page(path, next_key, following, seen, count)

        return PageStream(fetch)

    def next_page(self, path: str, key: str, token: Any, seen: set[str], count: int) -> str | int:
        """The `from` of the next page: a token Synapse has not given before. One it
        gave already would fetch the same pages again, without end."""
        if isinstance(token, bool) or not isinstance(token, str | int) or str(token) in seen:
            raise UnexpectedReply(
                f"GET {path}: Synapse's {key} {shown_reply(str(token))} "
                + ("repeats an earlier page's" if str(token) in seen else "is no page token")
                + f"; stopped after {count} items (some may be missing or twice)"
            )
        seen.add(str(token))
        return token


def _query_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ApiGroup:
    """One group of endpoints of `SynapseAdmin` (users, rooms, …) over the shared
    `AdminHttp`."""

    def __init__(self, http: AdminHttp) -> None:
        self._http = http
