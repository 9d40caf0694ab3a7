"""Ctrl-C ends wmx with exit status 130 and no traceback wherever it lands: while the
command's modules load (it was a KeyboardInterrupt traceback: the entry point imported
wmx.cli, typer and rich before anything could catch it) and while a command runs (it was
click's "Aborted!" and exit status 1)."""

from __future__ import annotations

import builtins
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wmx import entry
from wmx.cli import app

# The installed `wmx` command, as its script runs it (the console_scripts entry point),
# with a Ctrl-C landing on the first import of anything but the standard library and
# wmx.entry itself: an entry point that imported typer, rich or wmx.cli before its `try:`
# would end in a KeyboardInterrupt traceback.
INTERRUPTED_AT_FIRST_IMPORT = """
import builtins, sys
from importlib.metadata import entry_points
(script,) = entry_points(group="console_scripts", name="wmx")
real = builtins.__import__
def interrupted(name, *args, **kwargs):
    if name.partition(".")[0] in ("typer", "click", "rich", "pydantic") or name == "wmx.cli":
        raise KeyboardInterrupt
    return real(name, *args, **kwargs)
builtins.__import__ = interrupted
sys.argv = ["wmx", "--version"]
script.load()()
"""


def test_the_installed_command_catches_ctrl_c_from_its_first_import() -> None:
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_AT_FIRST_IMPORT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_ctrl_c_while_the_modules_load(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = builtins.__import__

    def interrupted(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "wmx.cli":
            raise KeyboardInterrupt
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    monkeypatch.delitem(sys.modules, "wmx.cli")
    with pytest.raises(SystemExit) as caught:
        entry.main()
    assert caught.value.code == 130
    assert "Traceback" not in capsys.readouterr().err


def test_ctrl_c_while_a_command_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(
            app, ["init", str(tmp_path), "--defaults", "--server-name", "a.org"]
        ).exit_code
        == 0
    )

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("wmx.ops.settings.validate_command", interrupted)
    result = runner.invoke(app, ["--site", str(tmp_path), "config", "validate"])
    assert result.exit_code == 130, result.output
    assert "Aborted" not in result.output and "Traceback" not in result.output
