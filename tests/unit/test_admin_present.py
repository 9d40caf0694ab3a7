"""wmx.admin.present: the shapes of the Admin API's answers as the commands show them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wmx.admin.present import (
    MEMBER_COLUMNS,
    REPORT_FIELDS,
    STATE_COLUMNS,
    USER_FIELDS,
    follow_task,
    media_columns,
    room_media_rows,
    show_bootstrap,
    show_redaction,
    show_room_deletion,
    size,
)
from wmx.present import OutputFormat, console, emit_record, emit_rows


def _record(record: dict[str, Any], fields: Any) -> str:
    with console.capture() as out:
        emit_record(record, OutputFormat.table, fields)
    return out.get()


def test_sizes_round_down_in_binary_units() -> None:
    assert [size(v) for v in (0, 1023, 1024, 5 * 1024**2 + 1, 3 * 1024**3)] == [
        "0 B", "1023 B", "1 KiB", "5 MiB", "3 GiB",
    ]  # fmt: skip
    assert size(None) == ""


def test_user_record_lists_emails_and_counts_rooms() -> None:
    user = {
        "name": "@a:x.test",
        "threepids": [{"medium": "email", "address": "a@x.test"}, {"medium": "msisdn"}],
        "joined_rooms": ["!1:x.test", "!2:x.test"],
    }
    text = _record(user, USER_FIELDS)
    assert "a@x.test" in text and "msisdn" not in text
    assert [line.split()[-1] for line in text.splitlines() if line.startswith("rooms")] == ["2"]


def test_a_reported_message_is_cut_at_60_characters() -> None:
    report = {"id": 7, "event_json": {"content": {"body": "x" * 100}}}
    assert ("x" * 59 + "…") in _record(report, REPORT_FIELDS)


def test_state_content_is_json_cut_at_80_and_members_are_plain_values() -> None:
    event = {"type": "m.room.topic", "content": {"topic": "[b]t[/b]" * 20}}
    content = STATE_COLUMNS[-1].value(event)
    assert content.startswith('{"topic": "[b]t[/b]') and content.endswith("…")
    assert len(content) == 80
    with console.capture() as out:
        emit_rows(["@[red]a[/]:x.test"], OutputFormat.table, MEMBER_COLUMNS)
    assert "@[red]a[/]:x.test" in out.get()


def test_media_rows_and_columns() -> None:
    found = {"local": ["mxc://x.test/a"], "remote": ["mxc://y.test/b", "mxc://y.test/c"]}
    assert [r["origin"] for r in room_media_rows(found)] == ["local", "remote", "remote"]
    assert media_columns("x.test")[0].value({"media_id": "abc"}) == "mxc://x.test/abc"


def test_room_deletion_report() -> None:
    final = {
        "status": "complete",
        "shutdown_room": {"kicked_users": ["@a:x.test", "@b:x.test"],
                          "failed_to_kick_users": ["@c:x.test"], "local_aliases": ["#r:x.test"]},
    }  # fmt: skip
    with console.capture() as out:
        show_room_deletion("!r:x.test", final, purge=True, block=False)
    assert out.get().splitlines() == [
        "Room !r:x.test: complete",
        "  members removed: 2",
        "  could not remove: @c:x.test",
        "  aliases removed: #r:x.test",
        "  purged: yes; blocked: no",
    ]


def test_redaction_report_names_each_failed_event() -> None:
    with console.capture() as out:
        show_redaction("r1", {"status": "complete", "failed_redactions": {"$e": "gone"}})
    assert out.get().splitlines() == ["Redaction r1: complete", "  not redacted: $e: gone"]


def test_bootstrap_shows_a_generated_password_once_or_how_to_reset_it() -> None:
    where = {"homeserver_host": "matrix.x.test", "server_name": "x.test"}
    with console.capture() as out:
        show_bootstrap("@admin:x.test", None, generated="s3cret", **where)
    assert "  Password:   s3cret   (shown once; store it now)" in out.get().splitlines()
    with console.capture() as out:
        show_bootstrap("@admin:x.test", {"admin": False}, generated=None, **where)
    text = out.get()
    assert "NOT a server admin" in text and "s3cret" not in text
    assert "`wmx user reset-password admin --generate-password`" in text
    assert "`wmx user admin admin on`" in text


def test_follow_task_returns_the_final_state() -> None:
    states: Iterator[dict[str, Any]] = iter([{"status": "active"}, {"status": "complete", "n": 1}])
    assert follow_task("purging", lambda: next(states)) == {"status": "complete", "n": 1}
