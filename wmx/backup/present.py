"""How `wmx backup` shows its results to people: a run's repositories, the archives of
each repository with the job's last run, and a restore's (or drill's) report. Scripts get
the same data as JSON from the commands; everything read from a host or an archive is
shown as plain text (`esc`, `cell`), never as Rich markup.

The whole of `wmx backup run`, `list` and `export-key` (reach the host, show progress,
the result and the exit status) is here too; the commands only parse."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from wmx.backup.hints import hint
from wmx.backup.progress import size, steps_display
from wmx.errors import InputError, WmxError
from wmx.present import answer, cell, console, err_console, esc

if TYPE_CHECKING:
    from wmx.backup.restore import RestoreReport
    from wmx.site import Site

# What the restore did to each kind of file (RestoreReport.files), for people.
FILE_OUTCOMES = {
    "replaced": "put back",
    "restored": "restored (not managed by the deploy)",
    "differs": "kept as deployed, differs from the archive's copy",
    "missing": "not in the archive",
}


def show_hint(error: object) -> None:
    """Under a repository's error, what to do about it (wmx.backup.hints), when known."""
    advice = hint(error)
    if advice:
        console.print(f"  [yellow]fix:[/] {esc(advice)}")


def show_run(record: Mapping[str, Any]) -> None:
    """One line per repository of a backup run: the archive and its sizes, or the error."""
    for label, result in record.get("repositories", {}).items():
        if result.get("ok"):
            note = f" [yellow]({esc(result['note'])})[/]" if result.get("note") else ""
            console.print(
                f"[green]✓[/] {esc(label)}: {esc(result['archive'])} — "
                f"{size(result['original_size'])}, {size(result['deduplicated_size'])} new "
                f"after deduplication, {esc(result['nfiles'])} files{note}"
            )
        else:
            console.print(f"[red]✗[/] {esc(label)}: {esc(result.get('error', 'failed'))}")
            show_hint(result.get("error"))


def moment(value: Any) -> str:
    """An ISO time from borg or the job's status as `YYYY-MM-DD HH:MM` (— when none);
    text that is no ISO time is shown as it is."""
    if not value:
        return "—"
    text = str(value)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return parsed.strftime("%Y-%m-%d %H:%M")


def show_listing(data: Mapping[str, Any]) -> None:
    """A table of archives per repository (or why it is unusable), then the last run."""
    for repo in data.get("repositories", []):
        title = f"{repo['label']} ({repo['url']})"
        if not repo.get("ok"):
            console.print(f"[red]✗ {esc(title)}: {esc(repo.get('error'))}[/]")
            show_hint(repo.get("error"))
            continue
        table = Table(title=esc(title))
        table.add_column("archive", no_wrap=True)
        table.add_column("time (UTC)", no_wrap=True)
        for name in ("size", "added (dedup.)", "files"):
            table.add_column(name, justify="right")
        for archive in repo.get("archives", []):
            table.add_row(
                cell(archive["name"]),
                cell(moment(archive.get("time"))),
                size(archive.get("original_size")),
                size(archive.get("deduplicated_size")),
                cell(archive.get("nfiles", "—")),
            )
        console.print(table)
        stats = repo.get("stats") or {}
        if stats:
            console.print(f"  on disk: {size(stats.get('unique_csize'))}")
    last = data.get("status", {}).get("last_run") or {}
    if not last:
        console.print("[yellow]The job has not run yet on this host.[/]")
    elif last.get("ok"):
        console.print(f"Last run: [green]ok[/], ended {esc(moment(last.get('ended')))}.")
    else:
        console.print(
            f"Last run: [red]FAILED[/], ended {esc(moment(last.get('ended')))}: "
            + esc(last.get("error"))
        )


def show_restore(report: RestoreReport, verb: str) -> None:
    """What was restored from where, what happened to the files, and each comparison
    between the archive and the restored host."""
    if report.archive:
        console.print(
            f"{verb} [bold]{esc(report.archive)}[/] from {esc(report.repository)} "
            f"onto {esc(report.target)}."
        )
    for key, paths in sorted(report.files.items()):
        if paths:
            console.print(f"  {FILE_OUTCOMES.get(key, key)}: {esc(', '.join(paths))}", style="dim")
    if report.error:
        console.print(f"[red]✗ could not restore: {esc(report.error)}[/]")
    table = Table("compared", "in the archive", "after the restore", "")
    for check in report.checks:
        mark = "[green]✓[/]" if check.ok else "[red]✗ mismatch[/]"
        table.add_row(cell(check.what), cell(check.expected), cell(check.actual), mark)
    if report.checks:
        console.print(table)


def finish(report: RestoreReport, output: str, verb: str, failure: str, success: str) -> None:
    """A restore's or drill's report (JSON for scripts), then `success` for people, or an
    error naming what differs."""
    answer(output, report.as_json, lambda: show_restore(report, verb))
    if not report.ok:
        names = ", ".join(c.what for c in report.mismatches) or report.error
        raise WmxError(f"{failure}: {names}")
    if output != "json":
        console.print(success)


def run_now(site: Site, host: str | None) -> None:
    """`wmx backup run`: the job's steps as they happen, then each repository's outcome."""
    from wmx.backup.operations import data_host, run_backup

    target = data_host(site, host)
    with steps_display(err_console) as steps:
        steps.step(f"Starting the backup on {target.name}")
        outcome = run_backup(target, steps)
    record = outcome.run
    show_run(record)
    if not outcome.ok:
        raise WmxError(f"backup failed on {target.name}: {record.get('error') or 'see above'}")
    console.print(f"Backup done in {record.get('duration', 0):.0f} s.")
    if note := only_on_the_host(site, target.name):
        console.print(note, soft_wrap=True)


def only_on_the_host(site: Site, host: str) -> str:
    """What to add when every repository is on the backed-up host itself (wmx init's
    one-host site, the demo): such archives die with the host, and nothing else says so."""
    from wmx.components.backup import repositories

    found = repositories(site.config, site.topology)
    if any(r.kind == "extra" or r.host not in (None, host) for r in found):
        return ""
    return (
        f"These archives are on {host} alone and die with it: add a host to the inventory's "
        "`backup` group (an append-only repository there) or `backup.repositories`, then "
        "`wmx deploy` (docs/backup.md)."
    )


def list_all(site: Site, host: str | None, output: str) -> None:
    """`wmx backup list`: exit status 1 when the last run failed or a repository is unusable."""
    from wmx.backup.operations import data_host, list_archives

    target = data_host(site, host)
    with console.status(f"Reading the repositories from {esc(target.name)}"):
        data = list_archives(target)
    last = data.get("status", {}).get("last_run") or {}
    broken = [r for r in data.get("repositories", []) if not r.get("ok")]
    failed = bool(last) and not last.get("ok")
    answer(output, lambda: data, lambda: show_listing(data), not (failed or broken))


def key_directory(directory: Path, output: Path | None) -> Path:
    """`export-key --dir`, or the --output/-o it replaced (said on stderr; a format such
    as `-o json` refused: -o is one everywhere else)."""
    if output is None:
        return directory
    if str(output) in {"table", "json", "yaml"}:
        raise InputError(
            f"wmx backup export-key writes key files and has no output format: "
            f"--dir DIR (or --dir - for standard output), not -o {output}"
        )
    err_console.print("note: export-key's --output/-o is now --dir/-d")
    return output


def export_keys(site: Site, host: str | None, repo: str | None, to: Path, paper: bool) -> None:
    """`wmx backup export-key`: each chosen repository's key to standard output (`-`) or to
    a 0600 file in `to`."""
    from wmx.backup.operations import data_host, export_key, export_key_files
    from wmx.backup.restore import repository_labels

    target = data_host(site, host)
    chosen = repository_labels(site, repo)
    if str(to) == "-":
        for label in chosen:
            sys.stdout.flush()
            export_key(target, label, sys.stdout.buffer, paper=paper)
        return
    server_name = site.config.server_name
    for label, path in export_key_files(target, chosen, to, server_name, paper=paper):
        console.print(f"{esc(label)}: key written to [bold]{esc(path)}[/] (mode 0600)")
    console.print("Keep these files and the passphrase (secrets.yml: backup_passphrase) offline.")
