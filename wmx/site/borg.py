"""Remote borg repository URLs, as wmx.yaml may write them."""

from __future__ import annotations

import ipaddress
import re

# A user, a host name or address, a port, and a path of plain characters: the URL lands
# in a systemd unit's environment and on borg's command line (no quotes, `$`, braces).
_USER = r"[a-z_][a-z0-9_.-]{0,31}"
_HOST = r"[A-Za-z0-9.-]{1,253}"
_IPV6 = r"\[(?P<ipv6>[0-9A-Fa-f:.]{2,45})\]"  # ssh://user@[fd00::15]:2222/path, as borg reads it
_PATH = r"[A-Za-z0-9._~/+@=,-]{1,1024}"
_BORG_SSH_REPO = re.compile(
    rf"ssh://{_USER}@(?:{_HOST}|{_IPV6})(:[0-9]{{1,5}})?/{_PATH}|{_USER}@{_HOST}:{_PATH}",
    re.ASCII,
)


def check_borg_repository(value: str) -> str:
    value = value.strip()
    found = _BORG_SSH_REPO.fullmatch(value)
    if not found or (found["ipv6"] and not _is_ipv6(found["ipv6"])):
        raise ValueError(
            f"{value[:80]!r} is not a remote borg repository: user@host:path or "
            "ssh://user@host[:port]/path, an IPv6 address in brackets (path: letters, "
            "digits and ._~/+@=,- only)"
        )
    return value


def repository_host(url: str) -> str:
    """The host of a repository URL check_borg_repository accepted (an IPv6 address
    without its brackets)."""
    rest = url.removeprefix("ssh://").split("@", 1)[1]
    if rest.startswith("["):
        return rest[1 : rest.index("]")]
    return rest.split("/", 1)[0].split(":", 1)[0]


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
