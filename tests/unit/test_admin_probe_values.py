"""Values that passed wmx's checks and that Synapse then refused, some with a 500 (a
probe against a real Synapse): each is refused now before a session opens, in one line
naming the value (exit 2). The commands run on a scripted Synapse that counts sessions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.synapse_script import Synapse, scripted_sessions
from wmx.admin import ids
from wmx.admin.user_import import parse_user_csv
from wmx.cli import app
from wmx.errors import InputError

SERVER = "example.test"


@pytest.fixture
def synapse(monkeypatch: pytest.MonkeyPatch) -> Synapse:
    return scripted_sessions(monkeypatch, Synapse({}))


def _refused(site_dir: Path, synapse: Synapse, *args: str) -> str:
    """The one error line of a command refused before anything is sent."""
    result = CliRunner().invoke(app, ["--site", str(site_dir), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "Traceback" not in result.output
    assert synapse.sessions == 0
    return line


# Registration tokens: uses_allowed is a 32-bit integer in Synapse's database.


@pytest.mark.parametrize("uses", ["99999999999999999999", str(2**31)])
@pytest.mark.parametrize("command", [("create",), ("update", "chapter-2026")])
def test_uses_beyond_synapses_column_are_refused(
    site_dir: Path, synapse: Synapse, uses: str, command: tuple[str, ...]
) -> None:
    line = _refused(site_dir, synapse, "regtoken", *command, "--uses", uses)
    assert "--uses" in line and uses in line and "2147483647" in line


# Localparts: "User ID may not begin with _".


def test_a_localpart_beginning_with_an_underscore_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'_x' is not a valid user name \(it may not begin"):
        ids.check_localpart("_x")
    with pytest.raises(ValueError, match="may not begin with _"):
        ids.check_new_user_id("@_bridge_x:example.test", SERVER)
    assert ids.check_localpart("x_") == "x_"


def test_user_create_refuses_an_underscore_name(site_dir: Path, synapse: Synapse) -> None:
    line = _refused(site_dir, synapse, "user", "create", "_x", "--generate-password")
    assert "'_x'" in line and "may not begin with _" in line


# Control characters in display names and CSV cells.


@pytest.mark.parametrize("name", ["a\x1b[31mb", "two\nlines", "tab\there", "del\x7f"])
def test_user_create_refuses_a_display_name_with_a_control_character(
    site_dir: Path, synapse: Synapse, name: str
) -> None:
    line = _refused(
        site_dir, synapse, "user", "create", "bob", "--display-name", name, "--generate-password"
    )
    assert "is not plain text: it holds a control character (U+00" in line


def test_plain_text_takes_any_printable_text() -> None:
    assert ids.check_plain_text("Alice Müller — 🎉 [bold]") == "Alice Müller — 🎉 [bold]"
    with pytest.raises(ValueError, match=r"U\+0000"):
        ids.check_plain_text("a\x00b")


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "users.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as refused:
        parse_user_csv(path, SERVER)
    return str(refused.value)


def test_a_csv_cell_with_nul_is_refused_by_line_and_column(tmp_path: Path) -> None:
    message = _csv(tmp_path, "localpart,display_name\nok,Fine\nnul1,a\x00b\n")
    assert "users.csv:3: display_name: 'a\\x00b' is not plain text" in message
    assert "U+0000" in message and "nothing was imported" in message


def test_a_quoted_line_break_in_a_cell_is_refused(tmp_path: Path) -> None:
    message = _csv(tmp_path, 'localpart,display_name\nbob,"two\nlines"\n')
    assert "users.csv:3: display_name: a line break inside double quotes" in message
    # A quote left open swallows the lines after it: said, not imported as one name.
    message = _csv(tmp_path, 'localpart,password\nbob,"open\nalice,x\n')
    assert "users.csv:3: password: a line break inside double quotes (is a closing" in message
    assert "alice" not in message


def test_a_password_cells_control_character_is_named_without_the_password(
    tmp_path: Path,
) -> None:
    message = _csv(tmp_path, "localpart,password\nbob,secret\x01word\n")
    assert "password: not plain text: it holds a control character (U+0001)" in message
    assert "secret" not in message


def test_a_csv_row_beginning_with_an_underscore_is_refused(tmp_path: Path) -> None:
    message = _csv(tmp_path, "localpart\n_x\n")
    assert "users.csv:2: localpart:" in message and "may not begin with _" in message


# Moments and ages: Synapse takes none before the epoch, its media API none from 1970.


@pytest.mark.parametrize("value", ["1969-12-31", "1970-01-02", "1970-12-31T23:59+00:00", "99999d"])
def test_a_moment_before_1971_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"'{value}' lies before 1971;")):
        ids.check_past_ms(value)


def test_moments_since_1971_are_taken() -> None:
    assert ids.check_past_ms("1971-01-01T00:00+00:00") == 31536000000
    assert ids.check_past_ms("30d") > 0


def test_an_age_in_days_before_1971_is_refused() -> None:
    most = (datetime.now(UTC) - ids.EARLIEST).days
    assert ids.check_days(most) == most
    assert ids.check_days(0) == 0
    for days in (most + 1, 99999999999):
        with pytest.raises(ValueError, match=rf"{days} days reach back before 1971"):
            ids.check_days(days)


@pytest.mark.parametrize(
    "command",
    [
        ("media", "delete", "--before", "1970-01-02", "--yes"),
        ("media", "purge-remote", "--older-than", "99999999999", "--yes"),
        ("room", "purge-history", "!r:example.test", "--before", "1969-07-20", "--yes"),
        ("user", "devices", "bob", "--prune-older-than", "99999999", "--yes"),
    ],
)
def test_commands_refuse_moments_before_1971(
    site_dir: Path, synapse: Synapse, command: tuple[str, ...]
) -> None:
    line = _refused(site_dir, synapse, *command)
    assert "before 1971" in line
