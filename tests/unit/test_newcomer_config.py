"""`wmx config get|set` with a name that is no setting: the near name, or the settings
of the section given, or wmx.yaml's top-level names; one line that can be read (it
listed every one of the hundred-odd settings), exit status 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app

runner = CliRunner()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    result = runner.invoke(
        app, ["init", str(tmp_path / "s"), "--defaults", "--server-name", "example.test"]
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "s"


@pytest.mark.parametrize("verb", [["get"], ["set"]])
@pytest.mark.parametrize(
    ("key", "hint", "not_said"),
    [
        ("synapse.max_uplod", "did you mean 'synapse.max_upload_size_mb'?", "backup."),
        ("backup.zzz", "backup's settings: backup.enabled, backup.schedule", "synapse."),
        ("nonsense", "wmx.yaml's top-level names: schema_version, server_name", "synapse.version"),
    ],
)
def test_an_unknown_setting_gets_a_short_hint(
    site: Path, verb: list[str], key: str, hint: str, not_said: str
) -> None:
    before = (site / "wmx.yaml").read_text()
    args = ["--site", str(site), "config", *verb, key, *(["1"] if verb == ["set"] else [])]
    result = runner.invoke(app, args)
    err = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert f"unknown setting '{key}'; {hint}" in err
    assert not_said not in err.split("; ", 1)[1]
    assert len(result.stderr.strip().splitlines()) == 1
    assert (site / "wmx.yaml").read_text() == before


def test_every_setting_and_section_can_be_read(site: Path) -> None:
    """`config get` of every name wmx.yaml knows, and of every section: a list of models
    (irc_bridge.networks) printed as JSON, not a traceback."""
    from wmx.site.config_edit import _known_keys

    keys = _known_keys()
    sections = {key.rsplit(".", 1)[0] for key in keys if "." in key}
    for key in [*keys, *sorted(sections)]:
        result = runner.invoke(app, ["--site", str(site), "config", "get", key])
        assert result.exit_code == 0, (key, result.output)
    result = runner.invoke(app, ["--site", str(site), "config", "get", "irc_bridge.networks"])
    assert json.loads(result.stdout)[0]["name"] == "libera"
