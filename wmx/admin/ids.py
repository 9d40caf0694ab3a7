"""Check what an operator types before anything reaches the homeserver.

Each check returns the canonical form of a value or raises ValueError with a one-line
message naming it; the CLI turns that into exit code 2 (see `wmx.cli.common.checked`).
Grammar from the Matrix specification's appendices (identifiers); room ids of room
version 12 and later have no server part.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

# The site's grammars for what an operator also types at a command: re-exported.
from wmx.site.model import check_email as check_email
from wmx.site.model import check_localpart as check_localpart

# Historical user ids may hold any printable ASCII but ':' (spec: "historical user IDs").
_USER_LOCALPART = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")
_SERVER_NAME = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
_OPAQUE = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")
# A room alias's localpart, as Synapse creates them: any character but ':' and ASCII
# whitespace (`string.whitespace`: "Invalid characters in room alias"), Unicode
# included (`#café`, `#漢字`, `#\u0430dmin` with a Cyrillic a), even an empty one. wmx also refuses
# the C0 and C1 controls and DEL, which Synapse takes (a pasted escape sequence, never a
# name someone types), and lone surrogates (undecodable bytes in argv, no character).
_ALIAS_REFUSED = re.compile(r"[\x00-\x20\x7f-\x9f\ud800-\udfff]")
_MEDIA_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_AGE = re.compile(r"^(\d+)\s*([smhdw])$")
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SIZE = re.compile(r"^(\d+)\s*([KMG]i?B?|B)?$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}

MAX_ID_LENGTH = 255
# Synapse counts an alias's length in characters, not bytes: "Can't create aliases longer
# than 255 characters" (`#` and 240 `漢`, 730 bytes of UTF-8, is taken).
MAX_ALIAS_LENGTH = 255
# Event report ids are PostgreSQL/SQLite 64-bit integers: a larger one made Synapse fail
# with a 500 (integer overflow) instead of a 404.
MAX_REPORT_ID = 2**63 - 1
# The earliest moment a check takes. Synapse refuses a timestamp before the epoch ("must
# be a positive integer") and its media API any in 1970 (it takes them for seconds); no
# event or file on a Matrix server is that old (Matrix began in 2014).
EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
# C0 controls and DEL: PostgreSQL stores no NUL (Synapse answers 500), and a line break or
# ESC in a display name reaches every client that shows it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r"[A-Za-z0-9._~-]{1,64}")


def _server_ok(server: str) -> bool:
    return bool(server) and bool(_SERVER_NAME.match(server))


def check_user_id(value: str, server_name: str, *, local: bool = True) -> str:
    """`@name:server`, or a bare `name` completed with this homeserver's server name.

    Accounts on other servers cannot be administered here, so `local` refuses them.
    """
    text = value.strip()
    if not text.startswith("@") and ":" not in text:
        text = f"@{text}:{server_name}"
    localpart, sep, server = text[1:].partition(":")
    if (
        not text.startswith("@")
        or not sep
        or not _USER_LOCALPART.match(localpart)
        or not _server_ok(server)
        or len(text) > MAX_ID_LENGTH
    ):
        raise ValueError(f"{value!r} is not a Matrix user id (such as @name:{server_name})")
    if local and server != server_name:
        raise ValueError(
            f"{value!r} is not an account of this homeserver ({server_name}); "
            "Synapse's Admin API acts here on its own accounts only"
        )
    return text


def check_new_user_id(value: str, server_name: str) -> str:
    """A user id for a new account: the stricter localpart rules Synapse applies."""
    user_id = check_user_id(value, server_name)
    localpart = user_id[1:].split(":", 1)[0]
    check_localpart(localpart)
    return user_id


def check_room_id(value: str) -> str:
    """`!opaque:server` (room versions 1-11) or `!opaque` (room version 12 and later)."""
    text = value.strip()
    opaque, sep, server = text[1:].partition(":")
    if (
        not text.startswith("!")
        or not opaque
        or not _OPAQUE.match(opaque)
        or (sep and not _server_ok(server))
        or len(text) > MAX_ID_LENGTH
    ):
        raise ValueError(f"{value!r} is not a room id (such as !abcdef:example.org)")
    return text


def check_room_alias(value: str) -> str:
    """`#name:server`, the name in any script (as Synapse takes them), never holding a
    space or a control character."""
    text = value.strip()
    name, sep, server = text[1:].partition(":")
    if not text.startswith("#") or not sep or not _server_ok(server):
        raise ValueError(f"{value!r} is not a room alias (such as #name:example.org)")
    refused = _ALIAS_REFUSED.search(name)
    if refused:
        char = refused[0]
        kind = (
            "a space"
            if char == " "
            else "bytes that are not UTF-8"
            if "\ud800" <= char <= "\udfff"
            else f"a control character (U+{ord(char):04X})"
        )
        raise ValueError(
            f"{value!r} is not a room alias: it holds {kind}; name the room by its id (!…) instead"
        )
    if len(text) > MAX_ALIAS_LENGTH:
        raise ValueError(
            f"{value[:40]!r}… is not a room alias: longer than {MAX_ALIAS_LENGTH} characters"
        )
    return text


def check_report_id(value: int) -> int:
    """An event report's number: 0 up to the largest 64-bit integer Synapse stores."""
    if not 0 <= value <= MAX_REPORT_ID:
        raise ValueError(f"{value} is not an event report number (0 to {MAX_REPORT_ID})")
    return value


def lowercase_user_id(user_id: str) -> str | None:
    """The id with its localpart lowercased, when that differs: Synapse makes the name of
    every account it registers lowercase (`UPPER` becomes @upper), though accounts of
    older releases may still have capitals, so wmx never lowercases an id on its own."""
    localpart, sep, server = user_id[1:].partition(":")
    lowered = f"@{localpart.lower()}{sep}{server}"
    return lowered if lowered != user_id else None


def check_room(value: str) -> str:
    """A room id or a room alias (the caller resolves aliases)."""
    text = value.strip()
    if text.startswith("#"):
        return check_room_alias(text)
    if text.startswith("!"):
        return check_room_id(text)
    raise ValueError(f"{value!r} is neither a room id (!…) nor a room alias (#…:server)")


def check_media(value: str, server_name: str) -> tuple[str, str]:
    """`mxc://server/media_id`, or a bare media id on this homeserver → (server, media id)."""
    text = value.strip()
    if text.startswith("mxc://"):
        server, _, media_id = text.removeprefix("mxc://").partition("/")
    else:
        server, media_id = server_name, text
    if not _server_ok(server) or not _MEDIA_ID.match(media_id):
        raise ValueError(f"{value!r} is not a media id (mxc://server/id, or the id alone)")
    return server, media_id


def check_local_media(value: str, server_name: str) -> str:
    """A media id stored by this homeserver: its bare id."""
    server, media_id = check_media(value, server_name)
    if server != server_name:
        raise ValueError(f"{value!r} is remote media; only media of {server_name} applies here")
    return media_id


def parse_moment(value: str, *, now: datetime | None = None) -> datetime:
    """A point in time: YYYY-MM-DD (midnight), an ISO 8601 date-time, or an age such as
    `30d` (30 days ago; units s, m, h, d, w). Without a time zone, local time is meant."""
    text = value.strip()
    current = now or datetime.now(UTC)
    age = _AGE.match(text.lower())
    if age:
        amount, unit = int(age.group(1)), age.group(2)
        try:
            return current - timedelta(**{_AGE_UNITS[unit]: amount})
        except OverflowError:
            raise ValueError(f"{value!r} reaches past the calendar's range") from None
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date (use YYYY-MM-DD, an ISO 8601 date-time such as "
            "2025-01-31T18:00, or an age such as 30d)"
        ) from None
    try:
        return moment if moment.tzinfo else moment.astimezone()
    except (OverflowError, ValueError):
        raise ValueError(f"{value!r} lies outside the calendar's range") from None


def check_past_ms(value: str) -> int:
    """A moment that must not lie in the future (purges and deletions look backwards),
    nor before `EARLIEST`."""
    moment = parse_moment(value)
    if moment > datetime.now(UTC):
        raise ValueError(f"{value!r} lies in the future; give a past date or an age such as 30d")
    if moment < EARLIEST:
        raise ValueError(
            f"{value!r} lies before {EARLIEST:%Y}; Synapse takes no earlier moment "
            "(nothing it holds is that old)"
        )
    return int(moment.timestamp() * 1000)


def check_future_ms(value: str) -> int:
    """A moment ahead: a date or date-time, or a duration such as `30d` from now."""
    text = value.strip()
    now = datetime.now(UTC)
    if _AGE.match(text.lower()):
        try:
            moment = now + (now - parse_moment(text, now=now))
        except OverflowError:
            raise ValueError(f"{value!r} reaches past the calendar's range") from None
    else:
        moment = parse_moment(text)
    if moment <= now:
        raise ValueError(
            f"{value!r} lies in the past; give a future date or a duration such as 30d"
        )
    return int(moment.timestamp() * 1000)


def check_days(value: int) -> int:
    """An age in days, which must reach back no further than `EARLIEST`."""
    if value < 0:
        raise ValueError(f"{value} is not a number of days (0 or more)")
    most = (datetime.now(UTC) - EARLIEST).days
    if value > most:
        raise ValueError(
            f"{value} days reach back before {EARLIEST:%Y}; Synapse takes no earlier moment "
            f"(give at most {most})"
        )
    return value


def check_plain_text(value: str) -> str:
    """Text for Synapse to store and clients to show (a display name, a CSV cell): no
    control character."""
    found = _CONTROL.search(value)
    if found:
        raise ValueError(
            f"{value!r} is not plain text: it holds a control character (U+{ord(found[0]):04X})"
        )
    return value


def parse_size(value: str) -> int:
    """Bytes: `500000`, `500K`, `10M`, `1G` (binary multiples)."""
    match = _SIZE.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a size (bytes, or a number with K, M or G)")
    unit = (match.group(2) or "").upper()[:1]
    return int(match.group(1)) * _SIZE_UNITS[unit]


def check_regex(value: str) -> str:
    """A regular expression (`wmx user deactivate --regex`), as Python's re reads it."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
    return value


def check_token(value: str) -> str:
    """A registration token chosen by hand, as Synapse accepts it."""
    if not _TOKEN.fullmatch(value):
        raise ValueError(f"{value!r} is not a registration token (1-64 letters, digits and ._~-)")
    return value
