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
