"""Ctrl-C ends wmx with exit status 130 and no traceback wherever it lands: while the
command's modules load (it was a KeyboardInterrupt traceback: the entry point imported
wmx.cli, typer and rich before anything could catch it) and while a command runs (it was
click's "Aborted!" and exit status 1)."""

from __future__ import annotations

import builtins
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wmx import entry
from wmx.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_the_entry_point_is_the_one_that_catches() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["wmx"] == "wmx.entry:main"
    source = (ROOT / "wmx" / "entry.py").read_text()
    assert "import typer" not in source and "from wmx.cli" not in source.split("try:")[0]


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
