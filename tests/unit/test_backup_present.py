"""wmx.backup.present: what `wmx backup run|list|restore|drill` show people."""

from __future__ import annotations

from wmx.backup.present import moment, show_listing, show_restore, show_run
from wmx.backup.restore import Check, RestoreReport
from wmx.present import console


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
