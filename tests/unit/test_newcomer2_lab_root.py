"""`wmx lab …` without root says what to do: the same command under sudo, with wmx's
absolute path (sudo's PATH does not hold a virtualenv's bin/). Exit status 1 (a lack
of privilege is no usage error). It said only that the lab needs root."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.lab.errors import not_root_message


def test_the_command_again_under_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setattr("sys.argv", ["/home/me/wmx/.venv/bin/wmx", "lab", "up", "-n", "2"])
    result = CliRunner().invoke(app, ["lab", "up", "-n", "2"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: wmx lab needs root: it creates network namespaces and boots containers; "
        "run it as root: `sudo /home/me/wmx/.venv/bin/wmx lab up -n 2`\n"
    )


def test_a_relative_program_and_a_library_caller() -> None:
    assert not_root_message(["./wmx", "lab", "down"]).endswith(" lab down`")
    assert "`sudo /" in not_root_message(["./wmx", "lab", "down"])
    assert not_root_message(["pytest"]).endswith("run it as root: `sudo wmx lab …`")
    assert "'a b'" in not_root_message(["/bin/wmx", "--site", "a b", "lab", "status"])
