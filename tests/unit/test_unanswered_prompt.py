"""A question wmx asks (a confirmation, a password) that meets the end of standard input
(</dev/null, a CI job, Ctrl-D) is one line in wmx's words, exit status 1 (the answer is
no: docs/admin.md); Ctrl-C at it is exit status 130 as anywhere. Both had been Typer's
"Aborted.", exit status 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from wmx.cli import app

from .test_hostile_files import new_site

runner = CliRunner()
WMX = Path(sys.executable).with_name("wmx")
UNANSWERED = (
    "error: standard input ended before the question was answered (--yes answers a confirmation)"
)
QUESTION = "Generate a new value now? [y/N]:"  # on stderr: stdout is the command's answer


def test_the_end_of_standard_input_at_a_confirmation(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    before = (site / "secrets.yml").read_bytes()
    result = runner.invoke(app, ["--site", str(site), "secrets", "rotate", "form_secret"], input="")
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [QUESTION, UNANSWERED]
    assert QUESTION not in result.stdout, result.stdout
    assert "Aborted" not in result.output
    assert (site / "secrets.yml").read_bytes() == before


def test_ctrl_c_at_a_confirmation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args: Any, **_kwargs: Any) -> bool:
        abort = typer.Abort()  # as click's prompt raises it, in an `except KeyboardInterrupt`
        abort.__context__ = KeyboardInterrupt()
        raise abort

    monkeypatch.setattr(typer, "confirm", interrupted)
    site = new_site(tmp_path)
    result = runner.invoke(app, ["--site", str(site), "secrets", "rotate", "form_secret"])
    assert result.exit_code == 130, result.output
    assert "Aborted" not in result.output and "error" not in result.output


def test_the_installed_command_at_a_closed_standard_input(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    done = subprocess.run(
        [str(WMX), "--site", str(site), "secrets", "rotate", "form_secret"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [QUESTION, UNANSWERED]
    assert QUESTION not in done.stdout, done.stdout
