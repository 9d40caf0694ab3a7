"""Remote borg repository URLs, as wmx.yaml may write them."""

from __future__ import annotations

import re

_BORG_SSH_REPO = re.compile(
    r"^(ssh://[a-z_][a-z0-9_.-]*@[A-Za-z0-9.-]+(:\d{1,5})?/\S+"
    r"|[a-z_][a-z0-9_.-]*@[A-Za-z0-9.-]+:[^\s:]\S*)$"
)


def check_borg_repository(value: str) -> str:
    value = value.strip()
    if not _BORG_SSH_REPO.match(value):
        raise ValueError(
            f"{value!r} is not a remote borg repository: user@host:path or "
            "ssh://user@host[:port]/path"
        )
    return value
