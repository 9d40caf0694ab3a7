"""Text anyone can set (room names, aliases, display names, report reasons) reaching the
terminal: in `room delete`'s question and report, in every sentence quoting a value
(`esc`), and as bidi controls in the streamed listings, which reverse the rest of a row."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.unit.synapse_script import Synapse, scripted_sessions
from wmx.admin.present import REPORT_COLUMNS, USER_COLUMNS
from wmx.cli import app
from wmx.present import TERMINAL_CONTROLS, OutputFormat, confirm, esc, terminal_safe
from wmx.present_pages import _CONTROLS, _plain, emit_pages

ROOM = "!bad:example.test"
# A title (OSC), a screen clear, a carriage return, C1 CSI and NEL, bidi override.
HOSTILE = "Evil\x1b]0;PWNED\x07\x1b[2J\rline\x9b31m\x85\u202egnp.exe"
RAW = ("\x1b", "\x07", "\r", "\x9b", "\x85", "\u202e")
ALIAS = "#e\x1b[31mx\u2066:example.test"


def _hostile_room(monkeypatch: pytest.MonkeyPatch) -> Synapse:
    deleted = {
        "status": "complete",
        "shutdown_room": {
            "kicked_users": ["@bob:example.test"],
            "failed_to_kick_users": ["@x\x1b[2J:example.test"],
            "local_aliases": ["#fine:example.test", ALIAS],
            "new_room_id": "!notice:example.test",
        },
    }
    return scripted_sessions(
        monkeypatch,
        Synapse(
            {
                ("GET", f"/_synapse/admin/v1/rooms/{ROOM}"): {
                    "room_id": ROOM,
                    "name": HOSTILE,
                    "joined_local_members": 1,
                },
                ("DELETE", f"/_synapse/admin/v2/rooms/{ROOM}"): {"delete_id": "d1"},
                ("GET", "/_synapse/admin/v2/rooms/delete_status/d1"): deleted,
            }
        ),
    )


def _wmx(site_dir: Path, *args: str, stdin: str = "") -> Result:
    return CliRunner().invoke(
        app, ["--site", str(site_dir), *args], input=stdin, env={"COLUMNS": "200"}
    )


def _clean(text: str) -> None:
    for raw in RAW:
        assert raw not in text, repr(raw)


def test_the_delete_question_shows_the_room_name_escaped(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synapse = _hostile_room(monkeypatch)
    result = _wmx(site_dir, "room", "delete", ROOM, stdin="n\n")
    assert result.exit_code == 1 and synapse.changes() == []
    _clean(result.stderr)
    assert f"Delete {ROOM} (Evil\\x1b]0;PWNED\\x07\\x1b[2J\\rline" in result.stderr
    assert "\\u202egnp.exe, 1 local member(s))?" in result.stderr


def test_the_deletion_report_shows_aliases_and_users_escaped(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hostile_room(monkeypatch)
    result = _wmx(site_dir, "room", "delete", ROOM, "--message", "closed", "--yes")
    assert result.exit_code == 0, result.output
    _clean(result.stdout)
    assert "\u2066" not in result.stdout
    assert "aliases moved there: #fine:example.test, #e\\x1b[31mx\\u2066:example.test" in (
        result.stdout
    )
    assert "could not remove: @x\\x1b[2J:example.test" in result.stdout


def test_esc_escapes_markup_and_what_a_terminal_acts_on() -> None:
    assert esc("[bold]x[/]\x1b[31m\r\u202e\u2028") == "\\[bold]x\\[/]\\x1b[31m\\r\\u202e\\u2028"
    joiners = "\U0001f468\u200d\U0001f469 \u0645\u06cc\u200c\u062e"
    assert esc(joiners) == joiners


def test_a_question_is_asked_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fake_confirm(question: str, **_: object) -> bool:
        asked.append(question)
        return True

    monkeypatch.setattr("typer.confirm", fake_confirm)
    confirm(f"Delete {HOSTILE}?", yes=False)
    assert asked == [f"Delete {terminal_safe(HOSTILE)}?"]
    _clean(asked[0])


@pytest.mark.parametrize(
    "bidi",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",
        "\u2066",
        "\u2069",
        "\u200e",
        "\u200f",
        "\u061c",
    ],
)
def test_streamed_cells_turn_bidi_controls_and_separators_into_spaces(bidi: str) -> None:
    assert _plain(f"admin{bidi}gnp.exe") == "admin gnp.exe"
    assert _plain("a\u2028b\u2029c") == "a b c"


def test_streams_and_tables_treat_the_same_characters() -> None:
    """One definition: whatever a table escapes, a streamed listing blanks."""
    assert set(map(chr, _CONTROLS)) == TERMINAL_CONTROLS
    for c in TERMINAL_CONTROLS:
        assert terminal_safe(c) != c and _plain(c) == " "


class _Pages:
    def __init__(self, items: list[dict[str, object]]) -> None:
        self.items, self.total, self.count = items, len(items), len(items)

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield self.items


@pytest.mark.parametrize(
    ("columns", "row"),
    [
        (USER_COLUMNS, {"name": "@evil-rtl:example.test", "displayname": "admin\u202egnp.exe"}),
        (REPORT_COLUMNS, {"id": 1, "reason": "spam \u2067\u202e reversed", "room_id": ROOM}),
    ],
)
def test_a_streamed_row_reads_as_what_it_holds(
    capsys: pytest.CaptureFixture[str], columns: list[object], row: dict[str, object]
) -> None:
    emit_pages(_Pages([row]), OutputFormat.table, columns, empty="none")  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert not any(c in out for c in TERMINAL_CONTROLS - {"\n"}), repr(out)
