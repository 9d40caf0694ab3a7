"""A damaged file of a site says what to do about it, in its one line: the record of the
deployed server name (.wmx/deployed/site.json) and an empty inventory.yml had said only
what was wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.hostile2_support import init_site, one_line_refusal
from wmx.cli import app


def _validate(site: Path) -> str:
    result = CliRunner().invoke(app, ["--site", str(site), "config", "validate"])
    return one_line_refusal(result)


@pytest.mark.parametrize("record", ['{"server_na', "{}"])
def test_a_damaged_deploy_record_says_how_to_restore_it(tmp_path: Path, record: str) -> None:
    site = init_site(tmp_path / "site")
    deployed = site / ".wmx" / "deployed"
    deployed.mkdir(parents=True)
    (deployed / "site.json").write_text(record)
    assert "restore it from your copy of the site" in _validate(site)

    # A deploy left the homeserver's configuration, which names the server too.
    config = deployed / "hs1" / "etc" / "matrix-synapse" / "homeserver.yaml"
    config.parent.mkdir(parents=True)
    config.write_text('server_name: "example.test"\n')
    assert "delete it, and wmx reads that name again" in _validate(site)
    (deployed / "site.json").unlink()
    result = CliRunner().invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 0, result.output


def test_an_empty_inventory_says_where_one_comes_from(tmp_path: Path) -> None:
    site = init_site(tmp_path / "site")
    (site / "inventory.yml").write_text("")
    assert "`wmx init` writes one" in _validate(site)
