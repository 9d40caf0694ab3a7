"""Server notices: messages from the homeserver itself, in each user's notices room."""

from __future__ import annotations

from wmx.admin.http import AdminHttp, NotFoundError
from wmx.errors import WmxError

V1 = "/_synapse/admin/v1"


class NoticesApi:
    def __init__(self, http: AdminHttp) -> None:
        self._http = http

    def send(self, user_id: str, text: str) -> str:
        """Send `text` to one local user; returns the event id."""
        try:
            data = self._http.post(
                f"{V1}/send_server_notice",
                json={"user_id": user_id, "content": {"msgtype": "m.text", "body": text}},
            )
        except NotFoundError as exc:
            # Synapse answers 404 when server_notices is not configured at all.
            raise WmxError(
                f"cannot send a server notice: {exc} (is server_notices configured?)"
            ) from None
        return str(data.get("event_id", ""))
