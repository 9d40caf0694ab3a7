"""What wmx accepts as user ids, room ids, aliases, media, dates and sizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wmx.admin.ids import (
    check_future_ms,
    check_local_media,
    check_media,
    check_new_user_id,
    check_past_ms,
    check_report_id,
    check_room,
    check_room_alias,
    check_room_id,
    check_user_id,
    lowercase_user_id,
    parse_moment,
    parse_size,
)

SERVER = "wmx.test"


def test_user_ids() -> None:
    assert check_user_id("alice", SERVER) == "@alice:wmx.test"
    assert check_user_id(" @alice:wmx.test ", SERVER) == "@alice:wmx.test"
    assert check_user_id("@Old.Style:wmx.test", SERVER) == "@Old.Style:wmx.test"
    assert check_user_id("@bob:other.org", SERVER, local=False) == "@bob:other.org"
    for bad in ("@bob:other.org", "@:wmx.test", "@a b:wmx.test", "bob:", "@bob", "@x:bad host"):
        with pytest.raises(ValueError, match=r"user id|homeserver"):
            check_user_id(bad, SERVER)


def test_new_user_ids_follow_synapse_rules() -> None:
    assert check_new_user_id("new.member", SERVER) == "@new.member:wmx.test"
    with pytest.raises(ValueError):
        check_new_user_id("@Capital:wmx.test", SERVER)


def test_room_ids_aliases_events() -> None:
    assert check_room_id("!abc:wmx.test") == "!abc:wmx.test"
    v12 = "!" + "A" * 43
    assert check_room_id(v12) == v12
    assert check_room_alias("#café:wmx.test".replace("é", "e")) == "#cafe:wmx.test"
    assert check_room("#x:wmx.test") == "#x:wmx.test"
    for bad in ("abc", "!", "!a b:c", "#x", "#x:bad server"):
        with pytest.raises(ValueError, match=repr(bad)[1:-1]):
            check_room(bad)


# Aliases Synapse 1.163 created when asked (PUT /directory/room/ALIAS answered 200): any
# script, look-alikes, format characters, an empty localpart, 255 characters of CJK
# (730 bytes: Synapse counts characters).
SYNAPSE_TAKES = [
    "#café:wmx.test",
    "#漢字:wmx.test",
    "#\u0430dmin:wmx.test",
    "#adm\u202ein:wmx.test",
    "#x\u200by:wmx.test",
    "#a\u00a0b:wmx.test",
    "#😀:wmx.test",
    "#a#b:wmx.test",
    "#a/b?c:wmx.test",
    "#:wmx.test",
    "#" + "漢" * 244 + ":wmx.test",
]


@pytest.mark.parametrize("alias", SYNAPSE_TAKES)
def test_every_alias_synapse_makes_can_be_named(alias: str) -> None:
    assert check_room_alias(alias) == alias
    assert check_room(f" {alias} ") == alias


@pytest.mark.parametrize(
    ("alias", "cause"),
    [
        ("#a b:wmx.test", "holds a space"),  # Synapse refuses whitespace too
        ("#a\tb:wmx.test", "control character \\(U\\+0009\\)"),
        ("#e\x1b[31mx:wmx.test", "control character \\(U\\+001B\\)"),
        ("#a\x7fb:wmx.test", "U\\+007F"),
        ("#a\x85b:wmx.test", "U\\+0085"),
        ("#a\x00b:wmx.test", "U\\+0000"),
        ("#a\udcffb:wmx.test", "not UTF-8"),
        ("#" + "a" * 247 + ":wmx.test", "longer than 255 characters"),
        ("#nocolon", "such as #name:example.org"),
        ("#x:bad server", "such as #name:example.org"),
    ],
)
def test_malformed_aliases_are_one_line_naming_why(alias: str, cause: str) -> None:
    with pytest.raises(ValueError, match=cause) as refused:
        check_room_alias(alias)
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)


def test_report_ids_stop_at_what_synapse_stores() -> None:
    assert check_report_id(0) == 0
    assert check_report_id(2**63 - 1) == 2**63 - 1
    for bad in (2**63, 99999999999999999999999, -1):
        with pytest.raises(ValueError, match="not an event report number"):
            check_report_id(bad)


def test_lowercase_user_id_only_when_it_differs() -> None:
    assert lowercase_user_id("@UPPER:wmx.test") == "@upper:wmx.test"
    assert lowercase_user_id("@MiXed:Wmx.Test") == "@mixed:Wmx.Test"
    assert lowercase_user_id("@lower:wmx.test") is None


def test_media() -> None:
    assert check_media("mxc://wmx.test/AbC_1-2", SERVER) == ("wmx.test", "AbC_1-2")
    assert check_media("AbC", SERVER) == ("wmx.test", "AbC")
    assert check_media("mxc://other.org/x", SERVER) == ("other.org", "x")
    with pytest.raises(ValueError, match="remote media"):
        check_local_media("mxc://other.org/x", SERVER)
    for bad in ("mxc://wmx.test/", "mxc://wmx.test/a/b", "../x"):
        with pytest.raises(ValueError, match="media id"):
            check_media(bad, SERVER)


def test_moments() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert parse_moment("30d", now=now) == now - timedelta(days=30)
    assert parse_moment("2w", now=now) == now - timedelta(weeks=2)
    assert parse_moment("2025-01-31T18:00+00:00") == datetime(2025, 1, 31, 18, tzinfo=UTC)
    assert parse_moment("2025-01-31").tzinfo is not None  # local midnight
    for bad in ("31/01/2025", "yesterday", "2025-02-30", ""):
        with pytest.raises(ValueError, match="is not a date"):
            parse_moment(bad)
    with pytest.raises(ValueError, match="future"):
        check_past_ms("2999-01-01")


def test_sizes() -> None:
    assert parse_size("500") == 500
    assert parse_size("10M") == 10 * 1024 * 1024
    assert parse_size("1GiB") == 1024**3
    assert parse_size("200k") == 200 * 1024
    with pytest.raises(ValueError, match="'huge'"):
        parse_size("huge")


def test_future_moments() -> None:
    ahead = check_future_ms("30d") - datetime.now(UTC).timestamp() * 1000
    assert 29 * 86400_000 < ahead < 31 * 86400_000
    assert check_future_ms("2999-01-01") > 0
    for bad in ("2001-01-01", "0s"):
        with pytest.raises(ValueError, match="past"):
            check_future_ms(bad)


@pytest.mark.parametrize("value", ["99999999999d", "999999999w", "0001-01-01"])
def test_moments_beyond_the_calendar_are_input_errors(value: str) -> None:
    # Out-of-range ages and dates are a user's mistake: a ValueError (one line, exit 2
    # through the CLI), never an OverflowError traceback.
    for check in (check_past_ms, check_future_ms):
        with pytest.raises(ValueError, match="range"):
            check(value)


def test_check_regex_takes_python_patterns_and_names_a_broken_one() -> None:
    from wmx.admin.ids import check_regex

    assert check_regex(r"spam\d+") == r"spam\d+"
    with pytest.raises(ValueError, match="is not a regular expression"):
        check_regex("spam[")
