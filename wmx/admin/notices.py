"""Server notices: messages from the homeserver itself, in each user's notices room."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from wmx.admin.http import V1, ApiGroup
from wmx.errors import InputError, WmxError
from wmx.site.yamlfile import read_given_file

if TYPE_CHECKING:
    from wmx.site import SitePaths


# The longest notice: a Matrix event is at most 64 KiB in all.
MAX_NOTICE = 64 << 10


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
            text = read_given_file(file, "a message", MAX_NOTICE).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{file}: cannot read the message ({exc})") from None
    if not text or not text.strip():
        raise InputError("the message is empty")
    if len(text.encode()) > MAX_NOTICE:  # typed: as --file's, not Synapse's 413 per user
        raise InputError("the message is over 64 KiB; a notice is a message, not a document")
    if looks := secret_shape(text):
        where = f"--file {file}" if file is not None else "the message"
        raise InputError(f"{where}: holds {looks}; a notice goes to users and cannot be unsent")
    return text


# What a notice must never carry, whichever file it came from (the site's SSH key, a
# copy of /etc/shadow): only secrets.yml and the site's own places had been refused.
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PASSWORD_HASH = re.compile(r"^[^:\s]+:\$[0-9a-z]{1,6}\$[^:\s]+:", re.MULTILINE)


def secret_shape(text: str) -> str | None:
    """What secret `text` holds by its shape (a PEM or OpenSSH private key, crypt(3)
    password hashes as in /etc/shadow), or None."""
    if _PRIVATE_KEY.search(text):
        return "a private key (-----BEGIN … PRIVATE KEY-----)"
    if _PASSWORD_HASH.search(text):
        return "password hashes (NAME:$ID$…, as in /etc/shadow)"
    return None


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
