"""wmx.lab.present and wmx.irc.present: what `wmx lab status|snapshots` and `wmx irc
status|plumb` show. Names are text, never Rich markup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from wmx.irc.manage import PlumbResult
from wmx.irc.present import plumb_report, show_changes, show_health, show_plumbs
from wmx.lab import Lab, LabHost
from wmx.lab.present import lab_state, show_state
from wmx.present import OutputFormat, console


def test_an_empty_lab_says_how_to_start_and_its_json_names_what_to_trust(tmp_path: Path) -> None:
    lab = Lab(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")
    with console.capture() as out:
        show_state(lab, [])
    assert out.get().strip() == "No lab hosts. Start some with `wmx lab up`."
    hosts = [LabHost("lab1", "10.213.0.11", running=True)]
    state = lab_state(lab, hosts)
    assert state["hosts"] == [
        {"name": "lab1", "address": "10.213.0.11", "fqdn": hosts[0].fqdn, "running": True}
    ]
    assert state["names"] == {} and state["ssh_key"] == str(lab.ssh_key_path)
    with console.capture() as out:
        show_state(lab, [*hosts, LabHost("lab2", "10.213.0.12", running=False)])
    text = out.get()
    assert "running" in text and "stopped" in text


def _network(name: str, matches: bool, in_bridge: bool = True) -> dict[str, object]:
    return {
        "name": name, "servers": ["irc.example.test:6697:tls"], "matches": matches,
        "in_bridge": in_bridge, "connections": 2,
        "relay": {"nick": "relay", "connected": True}, "plumbed": [{"channel": "#a"}],
    }  # fmt: skip


def test_health_says_what_differs_from_wmx_yaml_and_the_fix() -> None:
    data = {
        "up": False, "bot": "@irc:x.test", "ping": "[red]refused[/]",
        "networks": [_network("libera", True), _network("oftc", False, in_bridge=False)],
        "not_in_wmx_yaml": ["efnet"],
    }  # fmt: skip
    with console.capture() as out:
        show_health(data)
    text = " ".join(out.get().split())
    assert "Bridge @irc:x.test: down ([red]refused[/])" in text  # the ping's text, not markup
    assert "The bridge also has efnet, which wmx.yaml does not list" in text
    assert "The bridge differs from wmx.yaml: run `wmx irc sync`." in text


def test_sync_changes_and_plumb_outcomes() -> None:
    with console.capture() as out:
        show_changes([])
        show_changes(["network oftc added"])
        show_plumbs([PlumbResult("#a", "libera", "failed", detail="no such channel")])
    text = out.get()
    assert "The bridge already matches wmx.yaml." in text
    assert "  network oftc added" in text
    assert "failed: no such channel" in text


def test_plumb_report_gives_scripts_each_channel_and_fails_when_one_failed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = PlumbResult("#a", "libera", "plumbed", "!r:x.test")
    plumb_report([good]).show(OutputFormat.json)
    assert json.loads(capsys.readouterr().out) == [good.as_dict()]
    with pytest.raises(typer.Exit) as exited, console.capture() as out:
        plumb_report([good, PlumbResult("#b", "libera", "failed", detail="banned")]).show(
            OutputFormat.table
        )
    assert exited.value.exit_code == 1 and "banned" in out.get()
