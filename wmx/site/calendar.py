"""systemd calendar expressions (`OnCalendar=`, systemd.time(7)), as wmx.yaml may write them."""

from __future__ import annotations

import re

from wmx.site.grammars import no_control

_CALENDAR_SHORTHANDS = frozenset(
    {"minutely", "hourly", "daily", "weekly", "monthly", "quarterly", "semiannually",
     "yearly", "annually"}
)  # fmt: skip
_WEEKDAYS = frozenset(
    {"mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday", "wednesday",
     "thursday", "friday", "saturday", "sunday"}
)  # fmt: skip
# One field of a date or time: *, a number or a range a..b, optionally /step, in a list.
_CAL_VALUE = r"(\*|[0-9]{1,4}(\.\.[0-9]{1,4})?)(/[0-9]{1,4})?"
_CAL_FIELD = rf"{_CAL_VALUE}(,{_CAL_VALUE})*"
_CAL_DATE = re.compile(rf"({_CAL_FIELD}-)?{_CAL_FIELD}[-~]{_CAL_FIELD}", re.ASCII)
_CAL_TIME = re.compile(rf"{_CAL_FIELD}:{_CAL_FIELD}(:{_CAL_FIELD}(\.[0-9]{{1,6}})?)?", re.ASCII)
_EXAMPLES = "such as daily, hourly, *-*-* 03:15 or Mon..Fri 02:30; see `man systemd.time`"
_CAL_ZONE = re.compile(r"UTC|[A-Z][A-Za-z_]{1,32}(/[A-Za-z0-9_+-]{1,32}){1,2}", re.ASCII)


def _weekday_spec(token: str) -> bool:
    for part in token.split(","):
        names = part.split("..")
        if len(names) > 2 or not all(n.lower() in _WEEKDAYS for n in names):
            return False
    return True


def check_calendar(value: str) -> str:
    """A systemd calendar expression (`OnCalendar=`, systemd.time(7)).

    Checks the shape, not every range: the backup role asks `systemd-analyze calendar`
    on the host too. A newline or any character outside the syntax is refused, since
    the value lands in a unit file.
    """
    # Runs of spaces are folded into one; a line break, tab or other control character
    # (or another script's space) is refused, never folded or trimmed away.
    try:
        no_control(value, "systemd calendar expression")
    except ValueError as exc:
        raise ValueError(f"{exc}; {_EXAMPLES}") from None
    text = " ".join(word for word in value.split(" ") if word)
    if text.lower() in _CALENDAR_SHORTHANDS:
        return text.lower()
    tokens = text.split(" ")
    if tokens and _CAL_ZONE.fullmatch(tokens[-1]) and len(tokens) > 1:
        tokens = tokens[:-1]
    if tokens and _weekday_spec(tokens[0]):
        tokens = tokens[1:]
        if not tokens:
            return text  # "Mon,Fri": at midnight on those days
    if tokens and _CAL_DATE.fullmatch(tokens[0]):
        tokens = tokens[1:]
    if tokens and _CAL_TIME.fullmatch(tokens[0]):
        tokens = tokens[1:]
    if tokens or not text or len(text) > 200:
        raise ValueError(
            f"{value[:80]!r} is not a systemd calendar expression (OnCalendar=), {_EXAMPLES}"
        )
    return text
