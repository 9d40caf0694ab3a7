"""`--site` (or $WMX_SITE) naming a directory that holds no site: every command says
how to make one, in one line with exit status 2, and leaves nothing behind there (`wmx
config set` used to leave its lock file, or fail on creating it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app

runner = CliRunner()

COMMANDS = [
    ["render"],
    ["config", "validate"],
    ["config", "get", "server_name"],
    ["config", "set", "synapse.log_level", "INFO"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("exists", [True, False], ids=["empty-dir", "no-dir"])
def test_a_directory_without_a_site_is_named_with_the_way_out(
    tmp_path: Path, command: list[str], exists: bool
) -> None:
    site = tmp_path / "nosite"
    if exists:
        site.mkdir()
    result = runner.invoke(app, ["--site", str(site), *command])
    err = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.stderr
    assert f"{site}: no wmx.yaml here, so no site" in err
    assert f"`wmx init {site}`" in err
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(site.iterdir()) == [] if exists else not site.exists()


def test_wmx_site_from_the_environment_says_the_same(tmp_path: Path) -> None:
    """Said as the variable it came from (it had said to point --site elsewhere)."""
    result = runner.invoke(app, ["config", "validate"], env={"WMX_SITE": str(tmp_path)})
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    assert f"$WMX_SITE {tmp_path}: no wmx.yaml there, so no site" in err
    assert f"`wmx init {tmp_path}`" in err and "--site" not in err
