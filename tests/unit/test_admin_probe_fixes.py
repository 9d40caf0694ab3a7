"""What a probe against a real Synapse found in the administration commands: hostile
text reaching the terminal from tables and records, `room delete --message` dropped by
Synapse, wmx pruning its own session, remote senders refused by `reports list`, and
values wmx let through that Synapse refuses (some with a 500). Each command runs on a
scripted Synapse (tests/unit/synapse_script.py) that keeps what it was sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from tests.unit.synapse_script import Synapse, scripted_sessions
from wmx.cli import app
from wmx.present import cell

ROOM = "!bad:example.test"
HOSTILE = "spam \x1b]0;pwned\x07 \x1b[2J [bold]x[/] \x1b[31mred\u202e"
DELETED = {
    "status": "complete",
    "shutdown_room": {
        "kicked_users": ["@bob:example.test"],
        "failed_to_kick_users": [],
        "local_aliases": ["#bad:example.test"],
        "new_room_id": "!notice:example.test",
    },
}


class Recording(Synapse):
    """A scripted Synapse that also keeps each request's query and JSON body."""

    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        super().__init__(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().__call__(request)

    def body(self, method: str, prefix: str) -> Any:
        (found,) = [
            r for r in self.requests if r.method == method and r.url.path.startswith(prefix)
        ]
        return json.loads(found.content)


@pytest.fixture
def synapse(monkeypatch: pytest.MonkeyPatch) -> Recording:
    scripted = Recording(
        {
            ("GET", "/_synapse/admin/v1/event_reports/2"): {
                "id": 2,
                "reason": HOSTILE,
                "room_id": ROOM,
                "sender": "@spammer:evil.example",
            },
            ("GET", "/_synapse/admin/v1/event_reports"): {"event_reports": [], "total": 0},
            ("GET", f"/_synapse/admin/v1/rooms/{ROOM}/block"): {"block": False},
            ("GET", f"/_synapse/admin/v1/rooms/{ROOM}"): {
                "room_id": ROOM,
                "name": HOSTILE,
                "joined_local_members": 1,
            },
            ("DELETE", f"/_synapse/admin/v2/rooms/{ROOM}"): {"delete_id": "d1"},
            ("GET", "/_synapse/admin/v2/rooms/delete_status/d1"): DELETED,
            ("GET", "/_synapse/admin/v2/users/"): {"devices": [], "total": 0},
        }
    )
    scripted_sessions(monkeypatch, scripted)
    return scripted


def _wmx(site_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--site", str(site_dir), *args], env={"COLUMNS": "200"})


def _one_error(result: Result) -> str:
    """The single `error: …` line of a refused command (exit 2)."""
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "Traceback" not in result.output
    return line


# 5. Control characters in tables and records


def test_a_cell_writes_control_characters_as_escapes() -> None:
    shown = cell(HOSTILE).plain
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\x1b]0;pwned\\x07" in shown and "\\x1b[2J" in shown
    assert "[bold]x[/]" in shown  # markup stays literal
    assert cell("Alice Müller — 🎉").plain == "Alice Müller — 🎉"


@pytest.mark.parametrize("command", [("reports", "show", "2"), ("room", "show", ROOM)])
def test_show_records_keep_escape_sequences_off_the_terminal(
    site_dir: Path, synapse: Recording, command: tuple[str, ...]
) -> None:
    result = _wmx(site_dir, *command)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b[2J" in result.stdout or "\\x1b[31mred" in result.stdout


# 6. room delete --message


def test_a_deletion_message_is_posted_by_wmx_admin_in_a_new_room(
    site_dir: Path, synapse: Recording
) -> None:
    result = _wmx(site_dir, "room", "delete", ROOM, "--message", "bye", "--yes")
    assert result.exit_code == 0, result.output
    assert synapse.body("DELETE", "/_synapse/admin/v2/rooms/") == {
        "purge": False,
        "block": False,
        "force_purge": False,
        "new_room_user_id": "@wmx-admin:example.test",
        "room_name": "Content Violation Notification",
        "message": "bye",
    }
    assert "members moved into: !notice:example.test" in result.stdout
    assert "aliases moved there: #bad:example.test" in result.stdout
    assert "aliases removed" not in result.stdout


def test_a_deletion_without_a_message_makes_no_new_room(site_dir: Path, synapse: Recording) -> None:
    result = _wmx(site_dir, "room", "delete", ROOM, "--purge", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert synapse.body("DELETE", "/_synapse/admin/v2/rooms/") == {
        "purge": True,
        "block": False,
        "force_purge": False,
    }


def test_a_message_without_its_poster_is_a_programming_error() -> None:
    with Synapse({}).client() as admin, pytest.raises(ValueError, match="new_room_user_id"):
        admin.rooms.start_delete(ROOM, purge=False, block=False, message="bye")


# 8. wmx's own sessions


def test_pruning_wmx_admins_devices_is_refused_before_a_session(
    site_dir: Path, synapse: Recording
) -> None:
    result = _wmx(site_dir, "user", "devices", "wmx-admin", "--prune-older-than", "0", "--yes")
    assert _one_error(result) == (
        "error: @wmx-admin:example.test is wmx's own admin account: "
        "wmx will not log out the sessions of it"
    )
    assert synapse.sessions == 0


def test_listing_wmx_admins_devices_is_allowed(site_dir: Path, synapse: Recording) -> None:
    result = _wmx(site_dir, "user", "devices", "wmx-admin", "-o", "json")
    assert result.exit_code == 0, result.output
    assert synapse.changes() == []


# 9. reports of remote senders


def test_reports_take_a_sender_of_any_server(site_dir: Path, synapse: Recording) -> None:
    result = _wmx(site_dir, "reports", "list", "--sender", "@spammer:evil.example", "-o", "json")
    assert result.exit_code == 0, result.output
    (sent,) = synapse.requests
    assert sent.url.params["event_sender_user_id"] == "@spammer:evil.example"


@pytest.mark.parametrize(
    "command",
    [
        ("reports", "list", "--reporter", "@someone:evil.example"),
        ("media", "list", "--user", "@someone:evil.example"),
    ],
)
def test_local_only_filters_say_why_a_remote_user_is_refused(
    site_dir: Path, synapse: Recording, command: tuple[str, ...]
) -> None:
    line = _one_error(_wmx(site_dir, *command))
    assert "'@someone:evil.example' is not an account of this homeserver" in line
    assert "its own accounts only" in line
    assert synapse.sessions == 0


def test_a_malformed_sender_is_still_refused(site_dir: Path, synapse: Recording) -> None:
    line = _one_error(_wmx(site_dir, "reports", "list", "--sender", "@spam mer:evil.example"))
    assert "is not a Matrix user id" in line and synapse.sessions == 0


def test_joiners_stay_in_a_cell_controls_do_not() -> None:
    """An emoji sequence or a Persian name is written with U+200D/U+200C: kept; a
    control, a line separator or a bidi control is escaped."""
    from wmx.present import terminal_safe

    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert terminal_safe(family) == family and terminal_safe(persian) == persian
    assert terminal_safe("a\x1b[2Jb\u2028c\u202ed\x85") == "a\\x1b[2Jb\\u2028c\\u202ed\\x85"
