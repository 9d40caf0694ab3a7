"""A refused `wmx config set KEY VALUE` names the value as given on the command line, not
a line of wmx.yaml (the value is not in the file: nothing was written); an error about
another key of the file keeps its file and line. It cited `wmx.yaml:LINE` for the
command line's value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.errors import InputError
from wmx.site.config_given import given_value_error

runner = CliRunner()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site as `wmx init --defaults` makes it."""
    assert (
        runner.invoke(
            app, ["init", f"{tmp_path}/s", "--defaults", "--server-name", "a.org"]
        ).exit_code
        == 0
    )
    return tmp_path / "s"


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("synapse.max_upload_size_mb", "abc", "synapse.max_upload_size_mb"),
        ("synapse", "{max_upload_size_mb: -5}", "synapse.max_upload_size_mb"),
        ("synapse.log_level", "LOUD", "synapse.log_level"),
        ("server_name", "a b", "server_name"),
    ],
)
def test_the_command_lines_value(site: Path, key: str, value: str, shown: str) -> None:
    before = (site / "wmx.yaml").read_text()
    result = runner.invoke(app, ["--site", str(site), "config", "set", key, value])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: given on the command line: {shown}: ")
    assert result.stderr.endswith("; wmx.yaml: unchanged\n")
    assert result.stderr.count("\n") == 1
    assert not re.search(r"wmx\.yaml:\d", result.stderr)
    assert (site / "wmx.yaml").read_text() == before


def test_an_error_about_another_key_keeps_its_line() -> None:
    """Every line is the command line's value refused; a line of another key stays (its
    value may be the one to change), a line of the key or of a section above it goes
    (it holds no refused value)."""
    path = Path("/s/wmx.yaml")
    error = InputError(
        [
            f"{path}:12: synapse.log_level: must be one of …",
            f"{path}:30: synapse.max_upload_size_mb: too big",
            f"{path}: (top level): two hosts alike",
            f"{path}:8: synapse: a rule of the section",
        ]
    )
    lines = given_value_error(error, path, "synapse.log", "x", own_lines={8}).lines
    assert lines == (
        f"given on the command line: synapse.log x is refused: {path}:12: synapse.log_level: "
        "must be one of …; wmx.yaml: unchanged",
        f"given on the command line: synapse.log x is refused: {path}:30: "
        "synapse.max_upload_size_mb: too big; wmx.yaml: unchanged",
        "given on the command line: synapse.log x is refused: (top level): two hosts alike; "
        "wmx.yaml: unchanged",
        "given on the command line: synapse.log x is refused: synapse: a rule of the section; "
        "wmx.yaml: unchanged",
    )
    lines = given_value_error(error, path, "synapse.max_upload_size_mb", "99999").lines
    assert lines[1] == (
        "given on the command line: synapse.max_upload_size_mb: too big; wmx.yaml: unchanged"
    )


def test_a_value_quoted_in_a_refusal_is_one_short_line() -> None:
    path = Path("/s/wmx.yaml")
    error = InputError(f"{path}:3: server_name: differs")
    (line,) = given_value_error(error, path, "turn.host", "\x1b[31m" + "b" * 200).lines
    assert "\x1b" not in line and "turn.host \\x1b[31mbbb" in line
    assert "b" * 61 not in line and "…" in line
