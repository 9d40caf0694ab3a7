"""Server notices: messages from the homeserver itself, in each user's notices room."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from wmx.admin.http import V1, ApiGroup
from wmx.errors import InputError, WmxError
from wmx.site.yamlfile import read_given_file

if TYPE_CHECKING:
    from wmx.site import SitePaths


def notice_body(text: str | None, file: Path | None, paths: SitePaths | None = None) -> str:
    """The notice to send: `text`, or the contents of `file` (exactly one given; never one
    of the site's files of secrets, `paths`); never empty."""
    if text is None and file is None:
        raise InputError("give the message as an argument or with --file")
    if text is not None and file is not None:
        raise InputError("give the message as an argument or with --file, not both")
    if file is not None and paths is not None and paths.holds_secrets(file):
        raise InputError(f"--file {file}: holds the site's secrets; a notice goes to users")
    if file is not None:
        try:
            text = read_given_file(file, "a message", 64 << 10).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{file}: cannot read the message ({exc})") from None
    if not text or not text.strip():
        raise InputError("the message is empty")
    return text


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
