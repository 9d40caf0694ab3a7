"""`wmx backup`: take, list, restore and rehearse backups of the homeserver host."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from wmx.backup.operations import data_host, export_key, list_archives, run_backup
from wmx.backup.plan import repositories
from wmx.backup.restore import (
    DRILL_COMPONENTS,
    RestoreReport,
    drill,
    drill_site,
    drill_target,
    restore,
)
from wmx.cli.common import OutputFormat, console, err_console, open_site, print_json
from wmx.errors import InputError, WmxError
from wmx.render import render_site, write_build
from wmx.resources import data_dir
from wmx.run import run_playbook

app = typer.Typer(
    help="Backups that are restored, not just taken: borg archives of the database, "
    "media, signing key and configuration; restore and drill them.",
    no_args_is_help=True,
)

HostOption = Annotated[
    str | None,
    typer.Option("--host", help="The host running the backup job (default: the homeserver)."),
]


def size(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if amount < 1000 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} TB"


class RichSteps:
    """Steps on a Rich progress line: a spinner, the step, bytes and files so far."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("Starting", detail="")

    def step(self, text: str) -> None:
        self.progress.update(self.task, description=text, detail="")

    def transferred(self, done: int, files: int | None = None) -> None:
        detail = size(done) + (f", {files} files" if files else "")
        self.progress.update(self.task, detail=detail)

    def note(self, text: str) -> None:
        self.progress.console.print(f"[yellow]{escape(text)}[/]")


@contextmanager
def steps_display() -> Iterator[RichSteps]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("[dim]{task.fields[detail]}"),
        TimeElapsedColumn(),
        # stderr: stdout stays clean for --output json.
        console=err_console,
        transient=True,
    ) as progress:
        yield RichSteps(progress)


@app.command("run")
def run(ctx: typer.Context, host: HostOption = None) -> None:
    """Back up now (the timer's job): dump, archive to every repository, prune, compact."""
    site = open_site(ctx)
    target = data_host(site, host)
    with steps_display() as steps:
        steps.step(f"Starting the backup on {target.name}")
        outcome = run_backup(target, steps)
    record = outcome.run
    for label, result in record.get("repositories", {}).items():
        if result.get("ok"):
            console.print(
                f"[green]✓[/] {label}: {result['archive']} — {size(result['original_size'])}, "
                f"{size(result['deduplicated_size'])} new after deduplication, "
                f"{result['nfiles']} files"
                + (f" [yellow]({escape(result['note'])})[/]" if result.get("note") else "")
            )
        else:
            console.print(f"[red]✗[/] {label}: {escape(str(result.get('error', 'failed')))}")
    if not outcome.ok:
        raise WmxError(f"backup failed on {target.name}: {record.get('error') or 'see above'}")
    console.print(f"Backup done in {record.get('duration', 0):.0f} s.")


def _when(value: Any) -> str:
    if not value:
        return "—"
    text = str(value)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment.strftime("%Y-%m-%d %H:%M")


@app.command("list")
def list_(
    ctx: typer.Context,
    host: HostOption = None,
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.table,
) -> None:
    """List every repository's archives (time, size, size added after deduplication) and
    the job's last run. Exit status 1 when the last run failed or a repository is unusable."""
    site = open_site(ctx)
    target = data_host(site, host)
    with console.status(f"Reading the repositories from {target.name}"):
        data = list_archives(target)
    last = data.get("status", {}).get("last_run") or {}
    broken = [r for r in data.get("repositories", []) if not r.get("ok")]
    failed = bool(last) and not last.get("ok")
    if output is OutputFormat.json:
        print_json(data)
        raise typer.Exit(1 if failed or broken else 0)
    for repo in data.get("repositories", []):
        title = f"{repo['label']} ({repo['url']})"
        if not repo.get("ok"):
            console.print(f"[red]✗ {escape(title)}: {escape(str(repo.get('error')))}[/]")
            continue
        table = Table(title=title)
        table.add_column("archive", no_wrap=True)
        table.add_column("time (UTC)", no_wrap=True)
        for name in ("size", "added (dedup.)", "files"):
            table.add_column(name, justify="right")
        for archive in repo.get("archives", []):
            table.add_row(
                archive["name"],
                _when(archive.get("time")),
                size(archive.get("original_size")),
                size(archive.get("deduplicated_size")),
                str(archive.get("nfiles", "—")),
            )
        console.print(table)
        stats = repo.get("stats") or {}
        if stats:
            console.print(f"  on disk: {size(stats.get('unique_csize'))}")
    if not last:
        console.print("[yellow]The job has not run yet on this host.[/]")
    elif last.get("ok"):
        console.print(f"Last run: [green]ok[/], ended {_when(last.get('ended'))}.")
    else:
        console.print(
            f"Last run: [red]FAILED[/], ended {_when(last.get('ended'))}: "
            + escape(str(last.get("error")))
        )
    if failed or broken:
        raise typer.Exit(1)


@app.command("export-key")
def export_key_(
    ctx: typer.Context,
    repo: Annotated[
        str | None, typer.Option("--repo", help="Repository label (default: every one).")
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Directory for the key files, or - for standard output."
        ),
    ] = Path("."),
    paper: Annotated[
        bool, typer.Option("--paper", help="A form to print and type back in (borg --paper).")
    ] = False,
    host: HostOption = None,
) -> None:
    """Export each repository's key so it can be kept offline.

    The key is itself encrypted with the passphrase (secrets.yml: backup_passphrase):
    keep both, apart from the server. Without them no archive can ever be read.
    """
    site = open_site(ctx)
    target = data_host(site, host)
    labels = [r.label for r in repositories(site.config, site.topology)]
    if repo is not None and repo not in labels:
        raise InputError(f"--repo {repo}: no such repository; this site has {', '.join(labels)}")
    chosen = [repo] if repo else labels
    if str(output) == "-":
        for label in chosen:
            sys.stdout.flush()
            export_key(target, label, sys.stdout.buffer, paper=paper)
        return
    output.mkdir(parents=True, exist_ok=True)
    for label in chosen:
        path = output / f"{site.config.server_name}-{label}.borg-key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            export_key(target, label, handle, paper=paper)
        console.print(f"{label}: key written to [bold]{path}[/] (mode 0600)")
    console.print("Keep these files and the passphrase (secrets.yml: backup_passphrase) offline.")


def _show_report(report: RestoreReport, verb: str) -> None:
    if report.archive:
        console.print(
            f"{verb} [bold]{report.archive}[/] from {report.repository} onto {report.target}."
        )
    labels = {
        "replaced": "put back",
        "restored": "restored (not managed by the deploy)",
        "differs": "kept as deployed, differs from the archive's copy",
        "missing": "not in the archive",
    }
    for key, paths in sorted(report.files.items()):
        if paths:
            console.print(f"  {labels.get(key, key)}: {', '.join(paths)}", style="dim")
    if report.error:
        console.print(f"[red]✗ could not restore: {escape(report.error)}[/]")
    table = Table("compared", "in the archive", "after the restore", "")
    for check in report.checks:
        mark = "[green]✓[/]" if check.ok else "[red]✗ mismatch[/]"
        table.add_row(escape(check.what), escape(check.expected), escape(check.actual), mark)
    if report.checks:
        console.print(table)


@app.command("restore")
def restore_(
    ctx: typer.Context,
    archive: Annotated[str, typer.Argument(help="Archive name (`wmx backup list`) or latest.")],
    to: Annotated[str, typer.Option("--to", help="The (freshly deployed) homeserver host.")],
    repo: Annotated[
        str | None,
        typer.Option("--repo", help="Read this repository (default: the first holding it)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds data.")
    ] = False,
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.table,
) -> None:
    """Restore ARCHIVE onto HOST (deployed from this site): database, media, signing key
    and unmanaged files, then check that the published server key is the original one."""
    site = open_site(ctx)
    with steps_display() as steps:
        report = restore(site, archive=archive, to=to, repo=repo, force=force, steps=steps)
    if output is OutputFormat.json:
        print_json(report.as_json())
    else:
        _show_report(report, "Restored")
    if not report.ok:
        names = ", ".join(c.what for c in report.mismatches) or report.error
        raise WmxError(f"the restore does not match the archive: {names}")
    if output is not OutputFormat.json:
        console.print("[green]Restore complete[/]: everything compared matches the archive.")


@app.command("drill")
def drill_(
    ctx: typer.Context,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Throwaway host (default: a spare host of the inventory)."),
    ] = None,
    archive: Annotated[str, typer.Option(help="Archive name, or latest.")] = "latest",
    repo: Annotated[
        str | None,
        typer.Option("--repo", help="Read this repository (default: the first holding it)."),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.table,
) -> None:
    """Restore the latest archive onto a throwaway host and compare: user and room counts,
    latest events of the largest rooms, media checksums, the server signing key.
    Exit status 1 on any mismatch. The live server is only read."""
    site = open_site(ctx)
    target = drill_target(site, to)
    rehearsal = drill_site(site, target)
    # With --output json, stdout carries the report alone.
    say = console if output is OutputFormat.table else err_console
    say.print(f"Deploying the drill host {target.name} (PostgreSQL, Synapse, backup tools)")
    build = write_build(rehearsal, render_site(rehearsal))
    result = run_playbook(
        runs_dir=rehearsal.paths.runs,
        playbook=data_dir("playbooks") / "site.yml",
        inventory=rehearsal.paths.inventory,
        extravars={"wmx_build_dir": str(build), "wmx_only": DRILL_COMPONENTS},
        limit=target.name,
        console=say,
    )
    if not result.ok:
        raise WmxError(f"could not deploy the drill host {target.name}")
    with steps_display() as steps:
        report = drill(site, rehearsal, target, repo=repo, archive=archive, steps=steps)
    if output is OutputFormat.json:
        print_json(report.as_json())
    else:
        _show_report(report, "Drilled")
    if not report.ok:
        names = ", ".join(c.what for c in report.mismatches) or report.error
        raise WmxError(f"drill FAILED: {names}")
    if output is not OutputFormat.json:
        console.print("[green]Drill passed[/]: the archive restores and matches what it recorded.")
