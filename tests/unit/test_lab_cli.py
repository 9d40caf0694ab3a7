"""`wmx lab` as an operator meets it without root: one clear line, non-zero exit."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wmx.cli import app


@pytest.mark.parametrize("argv", [["up"], ["up", "--hosts", "2"], ["status"], ["down"]])
def test_every_command_needs_root(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    result = CliRunner().invoke(app, ["lab", *argv])
    assert result.exit_code == 1
    assert "wmx lab needs root: it creates network namespaces and boots containers" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_host_count_is_checked() -> None:
    result = CliRunner().invoke(app, ["lab", "up", "--hosts", "0"])
    assert result.exit_code == 2
