"""`wmx init` whose questions get no answer (standard input at its end: `</dev/null`, a
script) says which answer it lacks and what to do instead, exit status 2 as for a
password asked of a script (a value the command needs, not a confirmation's no), and
writes nothing; Ctrl-C at a question is exit status 130 as anywhere. Both were click's
"Aborted.", exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from wmx.cli import app

runner = CliRunner()


def test_no_answers(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "site")], input="")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "error: standard input ended before the server name was given: for a run without "
        "questions, `wmx init SITE --defaults --server-name NAME` (the other answers are "
        "options too: `wmx init --help`)\n"
    )
    assert not (tmp_path / "site").exists()


def test_answers_that_end_early(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "site")], input="example.org\n")
    assert result.exit_code == 2
    assert "standard input ended before the homeserver host was given" in result.stderr


def test_answers_on_standard_input_still_work(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "site")], input="example.org\n" + "\n" * 5)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "wmx.yaml").exists()


def test_ctrl_c_at_a_question(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> str:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise typer.Abort() from None  # as click's prompt does

    monkeypatch.setattr("wmx.present._answer", interrupted)
    result = runner.invoke(app, ["init", str(tmp_path / "site")])
    assert result.exit_code == 130, result.output
    assert "Aborted" not in result.output
