"""Typed grammars every part of wmx.yaml shares: names, addresses, durations, masks, URLs.

A value that lands in a file is held to one of these at load, so that the renderer never
sees anything it would have to escape. Every pattern is matched in full (`fullmatch`:
`$` would accept a trailing newline) and ASCII-only (`\\d` would accept other scripts'
digits); addresses and networks go through `ipaddress`, URLs through `urlsplit` and then
the host and port grammars. docs/site-input.md lists which value is held to what.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})+", re.ASCII)
# A conservative address: what mail relays, ACME CAs and Alertmanager all accept, and
# nothing that needs quoting in YAML, JSON, a command line or a mail header.
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?", re.ASCII)
# A release number as PyPI projects write it (Synapse, Heisenbridge).
RELEASE_VERSION = re.compile(r"[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}(?:[a-z0-9.]{0,16})", re.ASCII)
# A Matrix user id, or a mask of them (fnmatch `*` and `?`): localpart characters of the
# Matrix spec, a host name (with wildcards) and an optional port.
USER_MASK = re.compile(r"@[a-z0-9._=/+*?-]{1,255}:[A-Za-z0-9.*?-]{1,253}(?::[0-9]{1,5})?", re.ASCII)
# What a URL may hold: RFC 3986's unreserved, reserved and percent characters, without
# the quote `'` (nginx, shell) and with nothing that needs escaping in JSON or YAML.
_URL_CHARS = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!&()*+,;=%-]{1,2048}", re.ASCII)
# Free text that lands in a file (a brand name): one line, printable, bounded. The
# characters that reorder how text is shown (bidirectional marks, embeddings, overrides
# and isolates: U+061C, U+200E-F, U+202A-E, U+2066-9) are refused too: `a\u202eb` in a
# brand name shows as other text than it is, in a client and in `git diff` alike.
_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
# Jinja's delimiters: no value of a site is ever a template, so none may look like one.
# Ansible 2.19 also takes a string that begins with a `#jinja2:` header (which may
# change the delimiters to `[[ ]]`) as a template (is_possibly_template).
_TEMPLATE = re.compile(r"\{[{%#]|\A#jinja2:")
_SMTP_USER = re.compile(r"[A-Za-z0-9._@+-]{1,128}", re.ASCII)


def no_control(value: str, what: str) -> str:
    """`value`, or a ValueError when it holds a control or text-direction character
    (_CONTROL). Checked before anything is stripped: "name\\n" is refused, never quietly
    trimmed into "name"."""
    if _CONTROL.search(value):
        raise ValueError(
            f"{value[:80]!r} holds a control or text-direction character, as no {what} does"
        )
    return value


def check_hostname(value: str) -> str:
    """A lower-case DNS name with at least two labels (no scheme, no port), and never an
    IP address: RFC 1123 forbids an all-numeric top-level label."""
    no_control(value, "DNS host name")
    value = value.strip(" ").lower()
    if not _HOSTNAME.fullmatch(value) or value.rsplit(".", 1)[-1].isdigit():
        raise ValueError(
            f"{value[:80]!r} is not a DNS host name (lower-case labels separated by dots, "
            "such as matrix.example.org; no IP address, scheme, port or path)"
        )
    return value


def check_host_or_ip(value: str) -> str:
    """A DNS host name, or an IP address (normalised, without zone)."""
    no_control(value, "host name or IP address")
    try:
        address = ipaddress.ip_address(value.strip(" "))
    except ValueError:
        return check_hostname(value)
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        raise ValueError(f"{value!r}: an IPv6 zone (%…) is not supported")
    return str(address)


def check_port(value: str | int, what: str = "port") -> int:
    text = str(value)
    if not re.fullmatch(r"[0-9]{1,5}", text, re.ASCII) or not 1 <= int(text) <= 65535:
        raise ValueError(f"{text[:20]!r} is not a {what} (1 to 65535)")
    return int(text)


def check_host_port(value: str) -> str:
    """`host:port` (a host name or IPv4 address; IPv6 in brackets), such as smtp.example.org:587."""
    text = no_control(value, "host:port").strip(" ")
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ValueError(f"{value[:80]!r} is not host:port, such as smtp.example.org:587")
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        checked_host = check_host_or_ip(host[1:-1] if bracketed else host)
        checked_port = check_port(port)
    except ValueError:
        raise ValueError(f"{value[:80]!r} is not host:port, such as smtp.example.org:587") from None
    return host_port(checked_host, checked_port)


def url_host(address: str) -> str:
    """An address (an inventory host's: an IP address or a host name) as the host part of
    a URL or of `host:port`: an IPv6 literal in brackets (`[fd00::11]`), anything else as
    it is. Where a consumer wants the host alone (a bind or listen address, pg_hba's
    network, nftables, Synapse's instance_map, PostgreSQL's or Redis's host) the address
    goes in bare."""
    return f"[{address}]" if ":" in address else address


def host_port(address: str, port: int) -> str:
    """`address:port` for a connection or a listener: `10.0.0.11:9100`,
    `[fd00::11]:9100` (an unbracketed `fd00::11:9100` would be another address)."""
    return f"{url_host(address)}:{port}"


def pgpass_field(text: str) -> str:
    """A value in a field of libpq's .pgpass, whose `:` and `\\` are escaped with `\\`
    (an IPv6 host `fd00::11` is written `fd00\\:\\:11`)."""
    return text.replace("\\", "\\\\").replace(":", "\\:")


def check_email(value: str) -> str:
    """local@host.name: letters, digits and ._%+- before the @, a DNS name after it."""
    no_control(value, "e-mail address")
    value = value.strip(" ")
    local, at, domain = value.rpartition("@")
    try:
        if not at or not _EMAIL_LOCAL.fullmatch(local) or ".." in local:
            raise ValueError
        domain = check_hostname(domain)
    except ValueError:
        raise ValueError(
            f"{value[:80]!r} is not an e-mail address (such as ops@example.org)"
        ) from None
    return f"{local}@{domain}"


def check_url(value: str, schemes: tuple[str, ...] = ("https",)) -> str:
    """An absolute URL: one of `schemes`, a host name or IP address, an optional port,
    RFC 3986 characters only (no space, quote, newline, backslash or brace), no user:password."""
    text = value.strip(" ")
    names = " or ".join(f"{s}://" for s in schemes)
    problem = f"{text[:80]!r} is not an {names} URL"
    if not _URL_CHARS.fullmatch(text):
        raise ValueError(f"{problem} (letters, digits and URL punctuation only; no quotes)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(problem) from None
    if parts.scheme not in schemes or not parts.hostname or parts.username is not None:
        raise ValueError(f"{problem} (scheme, host, optional port and path)")
    try:
        check_host_or_ip(parts.hostname)
    except ValueError:
        raise ValueError(f"{problem}: {parts.hostname!r} is not a host name") from None
    if port == 0:
        raise ValueError(f"{problem}: port 0")
    return text


def https_url(value: str) -> str:
    """An https:// URL, or empty (not configured); a trailing slash is dropped."""
    return check_url(value).rstrip("/") if no_control(value, "URL").strip(" ") else ""


def check_text(value: str, what: str, max_length: int = 64) -> str:
    """Free text that lands in a file (escaped there by its encoder): one line, no control
    characters, at most `max_length` characters."""
    if (
        not value.strip()
        or len(value) > max_length
        or _CONTROL.search(value)
        or _TEMPLATE.search(value)
    ):
        raise ValueError(
            f"{value[:80]!r} is not a {what}: 1 to {max_length} characters on one line, "
            "no control or text-direction characters, no template syntax ({{, {%, {# or "
            "#jinja2:)"
        )
    return value


def check_smtp_user(value: str) -> str:
    """An SMTP login: 1 to 128 letters, digits and ._@+- (often an e-mail address)."""
    if not _SMTP_USER.fullmatch(value):
        raise ValueError(
            f"{value[:80]!r}: an SMTP user name is 1 to 128 letters, digits and ._@+- only"
        )
    return value


def check_release(value: str, what: str, example: str) -> str:
    if not RELEASE_VERSION.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not a {what} release number such as {example}")
    return value


def check_user_masks(value: list[str] | None) -> list[str] | None:
    for mask in value or []:
        if not USER_MASK.fullmatch(mask):
            raise ValueError(
                f"{mask[:80]!r} is not a Matrix user id or mask (such as @alice:example.org "
                "or @*:example.org)"
            )
    return value


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default.

    Types are strict: `true` is no number, `1.0` no whole number, `"5"` neither, and
    `.inf`/`.nan` are refused. Enumerations (read from text) opt out field by field.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


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
# Never reachable through `allow_ranges`: the host itself ("this host" 0.0.0.0/8 reaches
# it on Linux too), link-local, and cloud metadata services (169.254.169.254, AWS's
# fd00:ec2::254, Alibaba's 100.100.100.200).
NEVER_ALLOWED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "100.100.100.200/32",
        "::/128", "::1/128", "fe80::/10", "fd00:ec2::254/128",
    )
)  # fmt: skip
# IPv6 forms of IPv4 addresses: IPv4-mapped, IPv4-compatible, NAT64 (well-known and
# local-use prefixes) and 6to4. An allowed range in one of these would let a preview reach
# loopback, private or metadata addresses by another spelling; allow the IPv4 range.
IPV4_IN_IPV6 = tuple(
    ipaddress.ip_network(n)
    for n in ("::ffff:0:0/96", "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16")
)
# Synapse's durations (Config.parse_duration): a number and one of these units.
_DURATION = re.compile(r"([0-9]{1,12})(s|m|h|d|w|y)", re.ASCII)
_DURATION_MS = {
    "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000,
    "y": 365 * 86_400_000,
}  # fmt: skip
# No retention, lifetime or interval in wmx.yaml needs more than a century.
MAX_DURATION_MS = 100 * _DURATION_MS["y"]


def check_duration(value: Any) -> str:
    """A duration as Synapse writes it: a whole number and a unit, such as 30d or 12h,
    above 0 and at most 100 years."""
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if not match or not 0 < int(match.group(1)) * _DURATION_MS[match.group(2)] <= MAX_DURATION_MS:
        raise ValueError(
            f"{str(value)[:40]!r} is not a duration: a whole number above 0 and a unit "
            "(s, m, h, d, w or y), such as 12h, 30d or 1y, at most 100y"
        )
    return value  # type: ignore[no-any-return]


def duration_ms(value: str) -> int:
    match = _DURATION.fullmatch(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration")
    return int(match.group(1)) * _DURATION_MS[match.group(2)]


def optional_duration(value: Any) -> str | None:
    return None if value is None else check_duration(value)


def check_networks(value: list[str]) -> list[str]:
    """IP addresses or networks (host bits allowed), normalised: 10.1.2.3/8 → 10.0.0.0/8."""
    result = []
    for item in value:
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"{item[:80]!r} is not an IP address or network (such as 192.0.2.7 or "
                "198.51.100.0/24)"
            ) from None
        if "%" in item:
            raise ValueError(f"{item!r}: an IPv6 zone (%…) is not supported")
        result.append(str(network))
    return result


def check_allow_ranges(value: list[str], what: str = "previews") -> list[str]:
    """Ranges link previews (or ``what``) may reach although non-public: never loopback,
    link-local or metadata addresses, and never an IPv6 spelling of IPv4 addresses."""
    checked = check_networks(value)
    for item in checked:
        network = ipaddress.ip_network(item)
        if any(network.version == n.version and network.overlaps(n) for n in NEVER_ALLOWED):
            raise ValueError(
                f"{item} includes loopback or link-local addresses or a cloud metadata "
                f"address (the server itself, instance credentials): {what} may never "
                "reach those"
            )
        if any(network.version == n.version and network.overlaps(n) for n in IPV4_IN_IPV6):
            raise ValueError(
                f"{item} is (or includes) an IPv6 form of IPv4 addresses (IPv4-mapped, "
                "NAT64 or 6to4): allow the IPv4 range itself"
            )
    return checked


def covered(network: ipaddress.IPv4Network | ipaddress.IPv6Network, by: list[str]) -> bool:
    for entry in by:
        other = ipaddress.ip_network(entry, strict=False)
        if other.version == network.version and network.subnet_of(other):  # type: ignore[arg-type]
            return True
    return False


_LOCALPART = re.compile(r"[a-z0-9._=/+-]{1,255}", re.ASCII)


def check_localpart(value: str) -> str:
    """A Matrix user localpart as Synapse accepts it for new accounts."""
    value = value.strip().removeprefix("@").split(":", 1)[0]
    if not _LOCALPART.fullmatch(value):
        raise ValueError(
            f"{value[:80]!r} is not a valid user name (lower-case letters, digits and ._=/+- only)"
        )
    if value.startswith("_"):
        # Synapse keeps names beginning with _ for application services (bridges):
        # "User ID may not begin with _".
        raise ValueError(f"{value[:80]!r} is not a valid user name (it may not begin with _)")
    return value


def _or_empty(check: Callable[[str], str]) -> Callable[[str], str]:
    def checked(value: str) -> str:
        return check(value) if value else value

    return checked


# Optional mail settings: empty means "not used"; anything else must parse.
OptionalEmail = Annotated[str, AfterValidator(_or_empty(check_email))]
OptionalSmtpUser = Annotated[str, AfterValidator(_or_empty(check_smtp_user))]
