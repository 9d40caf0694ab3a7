"""`SynapseAdmin`: the one typed client wmx uses for Synapse's Admin API.

Grouped by what an operator administers: `users`, `rooms`, `media`, `tokens`,
`notices`, `reports`. Errors are `WmxError`s with one-line causes (a 404 on something
the operator named is an `InputError`, exit code 2); a 429 is retried after Synapse's
`retry_after_ms`; listings follow every page. How wmx reaches Synapse and signs in is
`wmx.admin.account`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from wmx.admin.http import MAX_RETRIES, AdminHttp
from wmx.admin.media import MediaApi
from wmx.admin.notices import NoticesApi
from wmx.admin.regtokens import RegistrationTokensApi
from wmx.admin.reports import ReportsApi
from wmx.admin.rooms import RoomsApi
from wmx.admin.users import UsersApi


class SynapseAdmin:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        server_name: str,
        max_retries: int = MAX_RETRIES,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        extra: dict[str, Any] = {"sleep": sleep} if sleep else {}
        self.http = AdminHttp(
            base_url, token, max_retries=max_retries, transport=transport, **extra
        )
        self.server_name = server_name
        self.users = UsersApi(self.http)
        self.rooms = RoomsApi(self.http)
        self.media = MediaApi(self.http)
        self.tokens = RegistrationTokensApi(self.http)
        self.notices = NoticesApi(self.http)
        self.reports = ReportsApi(self.http)

    def __repr__(self) -> str:
        return f"SynapseAdmin({self.http.base_url!r}, server_name={self.server_name!r})"

    def __enter__(self) -> SynapseAdmin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def whoami(self) -> str:
        """The user id the access token belongs to (401 if the token is no good)."""
        return str(self.http.get("/_matrix/client/v3/account/whoami", keys=("user_id",))["user_id"])

    def server_version(self) -> str:
        data = self.http.get("/_synapse/admin/v1/server_version", authenticated=False)
        return str(data.get("server_version", "unknown"))
