"""`wmx upgrade plan|apply --to "$VERSION"` with the variable unset is refused, one line,
exit 2, before the site is read: it had planned wmx's pinned release as if --to were
not given."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wmx.cli import app


@pytest.mark.parametrize(
    "args",
    [
        ["upgrade", "plan", "-c", "synapse", "--to", ""],
        ["upgrade", "apply", "--to", " "],
        ["upgrade", "apply", "-c", "web-client", "--sha256", ""],
        ["upgrade", "plan", "-c", "web-client", "--archive", ""],
    ],
)
def test_an_empty_release_option_is_refused(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["--site", "/nonexistent/site", *args])
    assert result.exit_code == 2, result.output
    assert "an empty value; give one, or leave --" in result.output
    assert "/nonexistent" not in result.output  # refused before the site is looked for
