"""A site's files and the files given to wmx, written to break its reader rather than to
say something: YAML nested thousands deep (a RecursionError and a traceback wherever a
reader other than wmx.yaml's and the inventory's met it), a variable wmx reads itself
that Ansible makes into something not plain (quietly left out: wmx went on with its
default where Ansible uses the value), and a section written as `!!omap` (a traceback
while naming the line of a refused value). One line each, exit 2, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.hostile2_support import init_site, one_line_refusal
from wmx.cli import app

runner = CliRunner()
DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return init_site(tmp_path / "site")


def _render(site: Path) -> str:
    result = runner.invoke(app, ["--site", str(site), "render"])
    line = one_line_refusal(result)
    assert not (site / "build").exists()
    return line


def test_secrets_nested_too_deeply_is_one_line_naming_no_key(site: Path) -> None:
    secrets = site / "secrets.yml"
    secrets.write_text(secrets.read_text() + f"macaroon_hint: {{deep: {DEEP}}}\n")
    line = _render(site)
    assert "secrets.yml:" in line and "nested too deeply" in line
    assert "macaroon_hint" not in line and "deep" not in line.split("nested too deeply")[1]


def test_a_value_given_to_config_set_nested_too_deeply_is_one_line(site: Path) -> None:
    before = (site / "wmx.yaml").read_text()
    result = runner.invoke(
        app, ["--site", str(site), "config", "set", "synapse.max_upload_size_mb", DEEP]
    )
    one_line_refusal(result, "synapse.max_upload_size_mb", "nested too deeply")
    assert (site / "wmx.yaml").read_text() == before


def test_a_channel_list_nested_too_deeply_is_one_line(site: Path, tmp_path: Path) -> None:
    channels = tmp_path / "channels.yml"
    channels.write_text(DEEP + "\n")
    argv = ["--site", str(site), "irc", "plumb-file", str(channels), "--url", "http://127.0.0.1:9"]
    one_line_refusal(runner.invoke(app, argv), "channels.yml:1", "nested too deeply")


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("memory_mb: 2026-01-01", "a date or time"),
        ("ansible_host: !!binary aGVsbG8=", "binary data (!!binary)"),
        ("ansible_ssh_common_args: !!set {-4: null}", "a set (!!set)"),
    ],
)
def test_a_variable_wmx_reads_that_is_not_plain_data_is_refused(
    site: Path, written: str, kind: str
) -> None:
    """Ansible would use the value; wmx had dropped it and gone on with its default (2048
    MiB, the host's name as its address, no SSH arguments)."""
    inventory = site / "inventory.yml"
    text = inventory.read_text()
    key = written.split(":")[0]
    lines = [line for line in text.splitlines() if line.strip().startswith("ansible_host:")]
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
    if key == "ansible_host":
        text = text.replace(lines[0], indent + written)
    else:
        text = text.replace(lines[0], lines[0] + "\n" + indent + written.replace("\n", ""))
        text = text.replace(indent + "memory_mb: 2048\n", "") if key == "memory_mb" else text
    inventory.write_text(text)
    line = _render(site)
    assert "inventory.yml:" in line and f"matrix.{key}: {kind} (value not shown)" in line


def test_a_section_written_as_an_omap_names_its_line(site: Path) -> None:
    """ruamel keeps no line for the keys inside `!!omap`: wmx named the line of a refused
    value by them and crashed (TypeError); now the section's line."""
    config = site / "wmx.yaml"
    text = config.read_text()
    text = text[: text.index("\nturn:\n")] + '\nturn: !!omap\n  - relay_min_port: "many"\n'
    config.write_text(text)
    section = text.splitlines().index("turn: !!omap") + 1
    assert _render(site).startswith(f"error: {config}:{section}: turn.relay_min_port:")
