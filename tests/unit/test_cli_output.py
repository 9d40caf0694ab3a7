"""`--output` offers only the forms a command can print: where a result has no YAML
form, `-o yaml` is refused (exit 2) instead of quietly printing the table."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wmx.cli import app


@pytest.mark.parametrize(
    "command",
    [["diff"], ["status"], ["backup", "list"], ["backup", "drill"]],
)
def test_yaml_is_refused_where_there_is_none(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "-o", "yaml"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "'yaml' is not one of 'table', 'json'" in result.stdout + result.stderr


def test_status_watch_with_json_is_refused_not_answered_once() -> None:
    """`wmx status --watch -o json` printed one answer and exited: a script that meant a
    series waited for a loop it never got. Refused before the site is read."""
    argv = ["--site", "/nonexistent-site", "status", "--watch", "-o", "json"]
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "--watch refreshes the table in place; -o json answers once" in result.stderr
