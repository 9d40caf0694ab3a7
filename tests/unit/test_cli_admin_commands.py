"""The administration commands end to end on this machine: arguments checked before any
session opens, `--yes` and the question, `--output json`, through `Cmd.run` to the
actions, with the session opened on a scripted Synapse (tests/unit/synapse_script.py)
instead of an SSH tunnel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.unit.synapse_script import Synapse, scripted_sessions
from wmx.cli import app

TOKEN = "/_synapse/admin/v1/registration_tokens/chapter-2026"


@pytest.fixture
def synapse(monkeypatch: pytest.MonkeyPatch) -> Synapse:
    answers = {
        ("GET", TOKEN): {"token": "chapter-2026", "uses_allowed": 5, "completed": 1},
        ("DELETE", TOKEN): {},
        ("GET", "/_synapse/admin/v1/rooms"): {
            "rooms": [{"room_id": "!old:example.test", "name": "old"}],
            "total_rooms": 1,
        },
    }
    return scripted_sessions(monkeypatch, Synapse(answers))


def _wmx(site_dir: Path, *args: str, answer: str | None = None) -> Any:
    return CliRunner().invoke(
        app, ["--site", str(site_dir), *args], input=answer, env={"COLUMNS": "200"}
    )


def test_wmx_own_account_is_refused_before_a_session_opens(
    site_dir: Path, synapse: Synapse
) -> None:
    result = _wmx(site_dir, "user", "lock", "wmx-admin")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: @wmx-admin:example.test is wmx's own admin account: wmx will not lock it"
    ]
    assert synapse.sessions == 0


def test_a_deletion_answered_no_deletes_nothing(site_dir: Path, synapse: Synapse) -> None:
    result = _wmx(site_dir, "regtoken", "delete", "chapter-2026", answer="n\n")
    assert result.exit_code == 1
    assert "Delete registration token chapter-2026?" in result.stderr
    assert synapse.changes() == []


def test_an_answered_question_leaves_stdout_to_the_json(site_dir: Path, synapse: Synapse) -> None:
    """`echo y | wmx regtoken delete T -o json | jq`: the question goes to stderr (it had
    stood in front of the JSON on stdout)."""
    result = _wmx(site_dir, "regtoken", "delete", "chapter-2026", "-o", "json", answer="y\n")
    assert result.exit_code == 0, result.output
    assert "Delete registration token chapter-2026? [y/N]:" in result.stderr
    assert "Delete" not in result.stdout
    # CliRunner echoes the typed answer to stdout as a terminal would; a pipe has none
    # (tests/integration/test_admin_users.py runs the installed command).
    answer = result.stdout[result.stdout.index("{") :]
    assert json.loads(answer) == {"token": "chapter-2026", "deleted": True}


def test_yes_deletes_and_json_says_what_was_done(site_dir: Path, synapse: Synapse) -> None:
    result = _wmx(site_dir, "regtoken", "delete", "chapter-2026", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"token": "chapter-2026", "deleted": True}
    assert synapse.changes() == [("DELETE", TOKEN)] and synapse.sessions == 1


def test_a_bad_token_is_an_input_error_before_a_session_opens(
    site_dir: Path, synapse: Synapse
) -> None:
    result = _wmx(site_dir, "regtoken", "show", "no spaces allowed")
    assert result.exit_code == 2 and "is not a registration token" in result.stderr
    assert synapse.sessions == 0


def test_a_dry_run_lists_and_changes_nothing(site_dir: Path, synapse: Synapse) -> None:
    result = _wmx(site_dir, "room", "purge-empty", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "!old:example.test" in result.stdout
    assert synapse.changes() == []
