"""wmx.backup.present: what `wmx backup run|list|restore|drill` show people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.render_sites import BASE_CONFIG, make_site
from wmx.backup.operations import RunOutcome
from wmx.backup.present import moment, only_on_the_host, show_listing, show_restore, show_run
from wmx.backup.restore import Check, RestoreReport
from wmx.present import console
from wmx.site import Site
from wmx.site.topology import HostView


def test_moment_reads_borg_and_job_times_and_keeps_other_text() -> None:
    assert moment("2026-11-30T07:05:09.123456") == "2026-11-30 07:05"
    assert moment("2026-11-30T07:05:09Z") == "2026-11-30 07:05"
    assert moment("") == "—"
    assert moment("yesterday") == "yesterday"


def test_listing_shows_archives_broken_repositories_and_a_failed_last_run() -> None:
    data = {
        "repositories": [
            {
                "label": "local",
                "url": "/var/backups/borg",
                "ok": True,
                "archives": [
                    {"name": "[red]evil[/]", "time": "2026-11-30T01:00:00", "nfiles": 12,
                     "original_size": 2_500_000, "deduplicated_size": 1000},
                ],
                "stats": {"unique_csize": 3_000_000},
            },
            {"label": "remote", "url": "ssh://b/x", "ok": False, "error": "connection refused"},
        ],
        "status": {"last_run": {"ok": False, "ended": "2026-11-30T02:00:00", "error": "disk full"}},
    }  # fmt: skip
    with console.capture() as out:
        show_listing(data)
    text = out.get()
    assert "[red]evil[/]" in text  # an archive name is text, never markup
    assert "2026-11-30 01:00" in text and "2.5 MB" in text and "1.0 kB" in text
    assert "on disk: 3.0 MB" in text
    assert "✗ remote (ssh://b/x): connection refused" in text
    assert "Last run: FAILED, ended 2026-11-30 02:00: disk full" in text


def test_listing_says_when_the_job_never_ran() -> None:
    with console.capture() as out:
        show_listing({"repositories": [], "status": {}})
    assert "The job has not run yet on this host." in out.get()


def test_run_lines_per_repository() -> None:
    record = {
        "repositories": {
            "local": {"ok": True, "archive": "hs-1", "original_size": 5000,
                      "deduplicated_size": 10, "nfiles": 3, "note": "compacted"},
            "remote": {"ok": False, "error": "no space"},
        }
    }  # fmt: skip
    with console.capture() as out:
        show_run(record)
    lines = out.get().splitlines()
    assert lines[0].startswith("✓ local: hs-1 — 5.0 kB, 10 B new after deduplication, 3 files")
    assert "(compacted)" in lines[0]
    assert lines[1] == "✗ remote: no space"


def test_restore_report_names_files_and_each_mismatch() -> None:
    report = RestoreReport(
        target="hs2",
        archive="hs-1",
        repository="local",
        checks=[Check("users", "3", "3"), Check("signing key", "ed25519:a", "ed25519:b")],
        files={"replaced": ["/etc/x"], "missing": []},
    )
    with console.capture() as out:
        show_restore(report, "Drilled")
    text = out.get()
    assert "Drilled hs-1 from local onto hs2." in text
    assert "put back: /etc/x" in text and "not in the archive" not in text
    assert "✗ mismatch" in text and text.count("✓") == 1


def _backed_up(tmp_path: Path, name: str, *more: HostView, **backup: Any) -> Site:
    hs1 = HostView("hs1", "10.213.0.11", ("database", "homeserver", "proxy"), 2048)
    config = {**BASE_CONFIG, "backup": {"enabled": True, **backup}}
    (tmp_path / name).mkdir()
    return make_site(tmp_path / name, config, [hs1, *more])


def test_a_backup_only_on_the_host_itself_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo site (one lab host, no `backup` group) backed up into the homeserver's own
    repository alone, and `wmx backup run`, `list` and doctor all looked content: nothing
    said that those archives die with the host."""
    from wmx.backup import operations
    from wmx.backup.present import run_now

    local = {
        "ok": True,
        "archive": "wmx-1",
        "original_size": 9,
        "deduplicated_size": 1,
        "nfiles": 1,
    }
    record = {"ok": True, "duration": 4, "repositories": {"local": local}}
    monkeypatch.setattr(operations, "data_host", lambda site, host: site.topology.hosts[0])
    monkeypatch.setattr(operations, "run_backup", lambda *_: RunOutcome(ok=True, run=record))
    with console.capture() as captured:
        run_now(_backed_up(tmp_path, "alone"), None)
    said = " ".join(captured.get().split())
    assert "These archives are on hs1 alone and die with it: add a host to the inventory's" in said
    remote = ["borg@backup.example.org:/srv/borg"]
    assert only_on_the_host(_backed_up(tmp_path, "extra", repositories=remote), "hs1") == ""
    spare = HostView("spare", "10.0.0.9", ("backup",), 1024)
    assert only_on_the_host(_backed_up(tmp_path, "spare", spare), "hs1") == ""
