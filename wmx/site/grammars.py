"""Typed grammars every part of wmx.yaml shares: names, addresses, durations, masks.

A value that lands in a file is held to one of these (full match) at load, so that the
renderer never sees anything it would have to escape.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A release number as PyPI projects write it (Synapse, Heisenbridge).
RELEASE_VERSION = re.compile(r"^\d+\.\d+\.\d+([a-z0-9.]*)?$")
# A Matrix user id, or a mask of them (fnmatch `*` and `?`).
USER_MASK = re.compile(r"^@[^\s:]+:[^\s:]+(:\d{1,5})?$")


def check_hostname(value: str) -> str:
    """Accept a lower-case DNS name with at least two labels (no scheme, no port)."""
    value = value.strip().lower()
    if not _HOSTNAME.match(value):
        raise ValueError(
            f"{value!r} is not a DNS host name (lower-case labels separated by dots, "
            "such as matrix.example.org; no scheme, port or path)"
        )
    return value


def check_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Every range a server must never fetch on a user's behalf: private, loopback,
# link-local, shared, documentation, multicast and reserved addresses (IANA special
# purpose registries). URL previews refuse all of them (server-side request forgery).
NON_PUBLIC_RANGES: tuple[str, ...] = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "100::/64", "2001::/23",
    "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
)  # fmt: skip
# Never reachable through `allow_ranges`: the host itself and cloud metadata services.
NEVER_ALLOWED = tuple(
    ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10")
)
# Synapse's durations (Config.parse_duration): a number and one of these units.
_DURATION = re.compile(r"^(\d+)(s|m|h|d|w|y)$")
_DURATION_MS = {
    "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000,
    "y": 365 * 86_400_000,
}  # fmt: skip


def check_duration(value: Any) -> str:
    """A duration as Synapse writes it: a whole number and a unit, such as 30d or 12h."""
    text = str(value).strip()
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{value!r} is not a duration: a whole number above 0 and a unit "
            "(s, m, h, d, w or y), such as 12h, 30d or 1y"
        )
    return text


def duration_ms(value: str) -> int:
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration")
    return int(match.group(1)) * _DURATION_MS[match.group(2)]


def optional_duration(value: Any) -> str | None:
    return None if value is None else check_duration(value)


def check_networks(value: list[str]) -> list[str]:
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network (such as 192.0.2.7 or 198.51.100.0/24)"
            ) from None
    return [str(ipaddress.ip_network(item, strict=False)) for item in value]


def covered(network: ipaddress.IPv4Network | ipaddress.IPv6Network, by: list[str]) -> bool:
    for entry in by:
        other = ipaddress.ip_network(entry, strict=False)
        if other.version == network.version and network.subnet_of(other):  # type: ignore[arg-type]
            return True
    return False


def https_url(value: str) -> str:
    value = value.strip()
    if value and not re.match(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?$", value):
        raise ValueError(f"{value!r} is not an https:// URL")
    return value.rstrip("/")


_LOCALPART = re.compile(r"^[a-z0-9._=/+-]+$")


def check_localpart(value: str) -> str:
    """A Matrix user localpart as Synapse accepts it for new accounts."""
    value = value.strip().removeprefix("@").split(":", 1)[0]
    if not value or not _LOCALPART.match(value) or len(value) > 255:
        raise ValueError(
            f"{value!r} is not a valid user name (lower-case letters, digits and ._=/+- only)"
        )
    return value
