"""Remote borg repository URLs, as wmx.yaml may write them."""

from __future__ import annotations

import re

# A user, a host name or address, a port, and a path of plain characters: the URL lands
# in a systemd unit's environment and on borg's command line (no quotes, `$`, braces).
_USER = r"[a-z_][a-z0-9_.-]{0,31}"
_HOST = r"[A-Za-z0-9.-]{1,253}"
_PATH = r"[A-Za-z0-9._~/+@=,-]{1,1024}"
_BORG_SSH_REPO = re.compile(
    rf"ssh://{_USER}@{_HOST}(:[0-9]{{1,5}})?/{_PATH}|{_USER}@{_HOST}:{_PATH}", re.ASCII
)


def check_borg_repository(value: str) -> str:
    value = value.strip()
    if not _BORG_SSH_REPO.fullmatch(value):
        raise ValueError(
            f"{value[:80]!r} is not a remote borg repository: user@host:path or "
            "ssh://user@host[:port]/path (path: letters, digits and ._~/+@=,- only)"
        )
    return value
