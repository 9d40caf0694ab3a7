"""What `wmx upgrade` does not know (what runs on a host not reached, the release a web
client had before its first upgrade) is None in its plans and records, null in JSON, and
words only where people read it: never the text "?" or "None". A record written by an
earlier wmx with "None" is read as not known."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from wmx.errors import InputError, WmxError
from wmx.ops import upgrade_parts
from wmx.ops.upgrade import plan_rollback
from wmx.ops.upgrade_overview import Overview, unreadable
from wmx.ops.upgrade_parts import PartPlan
from wmx.ops.upgrade_record import last_of, last_record
from wmx.site import load_site
from wmx.status import present as status_present

UNREACHABLE = "matrix: Connection to 203.0.113.10 port 22 timed out"


def _strings(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return [data] if isinstance(data, str) else []


def test_an_unreadable_part_is_null_in_json(site_dir: Path) -> None:
    site = load_site(site_dir)
    overview = Overview()
    for component in ("irc-bridge", "web-client"):
        overview.plans[component] = unreadable(site, component, WmxError(UNREACHABLE))
    data = json.loads(json.dumps(overview.as_json()))
    for component in ("irc-bridge", "web-client"):
        part = data["components"][component]
        assert part["running"] is None and part["target"] is None, part
    assert not {"?", "None"} & set(_strings(data)), data


def test_a_web_client_release_not_named_is_null_not_a_question_mark(site_dir: Path) -> None:
    site = load_site(site_dir)
    # A site whose web client release could not be made out: wmx.yaml names none.
    bare = SimpleNamespace(topology=site.topology, config=site.config, element_release=None)
    plan = unreadable(bare, "web-client", WmxError(UNREACHABLE))  # type: ignore[arg-type]
    assert plan.configured is None and plan.as_json()["configured"] is None


def _serve_from_nothing(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """apply_client with the deploy and the gate stubbed: the host served no release."""
    from wmx.ops import deploy

    monkeypatch.setattr(deploy, "plan_deploy", lambda *a, **k: None)
    monkeypatch.setattr(deploy, "run_deploy", lambda *a, **k: SimpleNamespace(ok=True))
    monkeypatch.setattr(upgrade_parts, "client_gate", lambda site, timeout: (True, "served"))
    site = load_site(site_dir)
    release = site.element_release
    assert release is not None
    plan = PartPlan("web-client", "matrix", release.version, None, release.version)
    record = upgrade_parts.apply_client(
        site, plan, None, lambda _t: None, console=Console(), gate_timeout=1
    )
    return site, record


def test_a_web_client_from_nothing_records_null(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, record = _serve_from_nothing(site_dir, monkeypatch)
    assert record.from_version is None
    saved = json.loads((site.paths.state / "upgrades" / "last.json").read_text())
    assert saved["from_version"] is None and saved["status"] == "applied"
    # Nothing ran before: a rollback has nowhere to go, and says so (exit 2).
    with pytest.raises(InputError, match="started from no release"):
        upgrade_parts.plan_part_rollback(site, "web-client")


def _old_record(site_dir: Path, component: str, to_version: str = "element-v1.11.0") -> Path:
    """A record as an earlier wmx wrote it for a web client with no release before."""
    folder = site_dir / ".wmx" / "upgrades"
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        {
            "kind": "apply",
            "component": component,
            "from_version": "None",
            "to_version": to_version,
            "started": "2026-01-01T00:00:00Z",
            "database_rule": "keeps",
            "finished": "2026-01-01T00:01:00Z",
            "status": "applied",
        }
    )
    (folder / f"20260101T000000Z-{component}-apply.json").write_text(text)
    (folder / "last.json").write_text(text)
    return folder


def test_an_old_record_with_the_text_none_is_read_as_not_known(site_dir: Path) -> None:
    site = load_site(site_dir)
    _old_record(site_dir, "web-client")
    assert site.paths.state == site_dir / ".wmx"
    last = last_of(site, "web-client")
    assert last is not None and last["from_version"] is None
    record = last_record(site.paths.state)
    assert record is not None and record["from_version"] is None
    with pytest.raises(InputError, match="started from no release"):
        upgrade_parts.plan_part_rollback(site, "web-client")


def test_synapse_rollback_refuses_a_record_with_no_release_before(site_dir: Path) -> None:
    site = load_site(site_dir)
    _old_record(site_dir, "synapse", "1.163.2")
    with pytest.raises(InputError, match="names no release it started from"):
        plan_rollback(site)


def test_status_says_the_last_upgrade_in_words(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = Console(record=True, width=200)
    monkeypatch.setattr(status_present, "console", console)
    site = load_site(site_dir)
    _old_record(site_dir, "web-client")
    status_present.show_last_upgrade(last_record(site.paths.state))
    running = {"component": "web-client", "from_version": None, "to_version": "x"}
    status_present.show_last_upgrade({**running, "status": "running", "finished": None})
    text = console.export_text()
    assert "None" not in text and "?" not in text, text
    assert "web-client none before → element-v1.11.0 applied at 2026-01-01T00:01:00Z" in text
    assert "running (not finished)" in text


def test_a_rehearsal_that_measured_nothing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from wmx.ops import upgrade_present
    from wmx.ops.upgrade_record import UpgradeRecord
    from wmx.ops.upgrade_rehearse import Rehearsal

    console = Console(record=True, width=200)
    monkeypatch.setattr(upgrade_present, "console", console)
    record = UpgradeRecord("apply", "synapse", "1.160.0", "1.163.2", "t", "keeps")
    record.status = "failed"
    upgrade_present.show_rehearsal(Rehearsal("spare", "a1", True, record=record, failure="x"))
    text = console.export_text()
    assert "None" not in text and "migrations not measured, outage not measured" in text, text
