"""Server notices: messages from the homeserver itself, in each user's notices room."""

from __future__ import annotations

from wmx.admin.http import V1, ApiGroup
from wmx.errors import InputError, WmxError


class NoticesDisabledError(WmxError):
    """Synapse has no `server_notices` section: no notice can reach anyone."""


class NoticesApi(ApiGroup):
    def send(self, user_id: str, text: str) -> str:
        """Send `text` to one local user; returns the event id."""
        try:
            data = self._http.post(
                f"{V1}/send_server_notice",
                json={"user_id": user_id, "content": {"msgtype": "m.text", "body": text}},
            )
        except InputError as exc:
            if "not enabled" in str(exc):
                raise NoticesDisabledError(
                    "server notices are not enabled on this homeserver "
                    "(Synapse needs a server_notices section in its configuration)"
                ) from None
            raise
        return str(data.get("event_id", ""))
