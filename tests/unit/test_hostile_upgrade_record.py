"""A rollback takes versions and the pre-upgrade dump from the site's .wmx/upgrades/ and
runs what they name on the hosts as root (a venv's path in a shell script, the dump that
replaces the database). A record edited by hand or damaged is a user error naming the
file and the key, and nothing is run on any host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.ops import upgrade_host, upgrade_parts

runner = CliRunner()
INJECTED = "1.160.0; touch /tmp/wmx-pwned"


def _record(site_dir: Path, component: str, **values: Any) -> None:
    folder = site_dir / ".wmx" / "upgrades"
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "kind": "apply",
        "component": component,
        "from_version": "1.15.3" if component == "irc-bridge" else "1.160.0",
        "to_version": "1.15.4" if component == "irc-bridge" else "1.163.2",
        "started": "2026-11-30T02:00:00Z",
        "database_rule": "keeps",
        "status": "applied",
        **values,
    }
    text = json.dumps(record)
    (folder / f"20261130T020000Z-{component}-apply.json").write_text(text)
    (folder / "last.json").write_text(text)


@pytest.mark.parametrize(
    ("component", "values", "key"),
    [
        ("synapse", {"from_version": INJECTED}, "from_version"),
        ("synapse", {"to_version": "$(reboot)"}, "to_version"),
        ("synapse", {"from_version": "../../../bin"}, "from_version"),
        ("synapse", {"from_version": 1160}, "from_version"),
        ("synapse", {"database_rule": "dump", "dump": "/etc/passwd"}, "dump"),
        (
            "synapse",
            {"database_rule": "dump", "dump": "/var/backups/wmx-upgrade/../x.dump"},
            "dump",
        ),
        ("synapse", {"database_rule": "dump", "dump": ["a"]}, "dump"),
        ("irc-bridge", {"from_version": INJECTED}, "from_version"),
        ("irc-bridge", {"to_version": "1.15.4\nsystemctl stop sshd"}, "to_version"),
        ("web-client", {"from_version": "../../etc"}, "from_version"),
    ],
)
def test_a_record_edited_by_hand_is_refused_and_nothing_runs(
    site_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    component: str,
    values: dict[str, Any],
    key: str,
) -> None:
    ran: list[str] = []
    monkeypatch.setattr(upgrade_host, "remote", lambda host, script, timeout=0: ran.append(script))
    monkeypatch.setattr(upgrade_parts, "remote", lambda host, script, timeout=0: ran.append(script))
    _record(site_dir, component, **values)
    argv = ["--site", str(site_dir), "upgrade", "rollback", "--yes", "--component", component]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f".wmx/upgrades/20261130T020000Z-{component}-apply.json: {key}:" in lines[0]
    assert "nothing was done" in lines[0]
    assert ran == []


def test_the_records_wmx_writes_are_taken(site_dir: Path) -> None:
    """The grammars admit what wmx itself records: release numbers, a web client's
    release directory, the dump dump_script names."""
    from wmx.ops.upgrade_record import checked_record

    dump = "/var/backups/wmx-upgrade/synapse-1.160.0-to-1.163.2-20261130T020000Z.dump"
    record = {"component": "synapse", "from_version": "1.160.0", "to_version": "1.163.2rc1"}
    assert checked_record({**record, "dump": dump}, "r") == {**record, "dump": dump}
    client = {"component": "web-client", "from_version": "1.12.25-0123456789ab"}
    assert checked_record({**client, "to_version": "cinny-4.2.2-0123456789ab"}, "r")
    assert checked_record({**client, "from_version": None, "to_version": "1.12.25"}, "r")
