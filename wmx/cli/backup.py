"""`wmx backup`: take, list, restore and rehearse backups of the homeserver host."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.common import (
    JsonOutput,
    TableOrJson,
    console,
    err_console,
    group,
    open_site,
    print_json,
)
from wmx.errors import WmxError
from wmx.present import esc

if TYPE_CHECKING:
    from wmx.backup.restore import RestoreReport

app = group("backup")

HostOption = Annotated[
    str | None,
    typer.Option("--host", help="The host running the backup job (default: the homeserver)."),
]
Repo = Annotated[
    str | None,
    typer.Option("--repo", help="Read this repository (default: the first holding it)."),
]


@app.command("run")
def run(ctx: typer.Context, host: HostOption = None) -> None:
    """Back up now (the timer's job): dump, archive to every repository, prune, compact."""
    from wmx.backup.operations import data_host, run_backup
    from wmx.backup.present import show_run
    from wmx.backup.progress import steps_display

    site = open_site(ctx)
    target = data_host(site, host)
    with steps_display(err_console) as steps:
        steps.step(f"Starting the backup on {target.name}")
        outcome = run_backup(target, steps)
    record = outcome.run
    show_run(record)
    if not outcome.ok:
        raise WmxError(f"backup failed on {target.name}: {record.get('error') or 'see above'}")
    console.print(f"Backup done in {record.get('duration', 0):.0f} s.")


@app.command("list")
def list_(
    ctx: typer.Context, host: HostOption = None, output: JsonOutput = TableOrJson.table
) -> None:
    """List every repository's archives (time, size, size added after deduplication) and
    the job's last run. Exit status 1 when the last run failed or a repository is unusable."""
    from wmx.backup.operations import data_host, list_archives
    from wmx.backup.present import show_listing

    site = open_site(ctx)
    target = data_host(site, host)
    with console.status(f"Reading the repositories from {esc(target.name)}"):
        data = list_archives(target)
    last = data.get("status", {}).get("last_run") or {}
    broken = [r for r in data.get("repositories", []) if not r.get("ok")]
    failed = bool(last) and not last.get("ok")
    if output is TableOrJson.json:
        print_json(data)
        raise typer.Exit(1 if failed or broken else 0)
    show_listing(data)
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
    keep both, apart from the server. Without them no archive can ever be read. A key
    file is written whole or not at all: an existing one is replaced only by a complete
    export.
    """
    from wmx.backup.operations import data_host, export_key, export_key_files
    from wmx.backup.restore import repository_labels

    site = open_site(ctx)
    target = data_host(site, host)
    chosen = repository_labels(site, repo)
    if str(output) == "-":
        for label in chosen:
            sys.stdout.flush()
            export_key(target, label, sys.stdout.buffer, paper=paper)
        return
    server_name = site.config.server_name
    for label, path in export_key_files(target, chosen, output, server_name, paper=paper):
        console.print(f"{esc(label)}: key written to [bold]{esc(path)}[/] (mode 0600)")
    console.print("Keep these files and the passphrase (secrets.yml: backup_passphrase) offline.")


def _finish(report: RestoreReport, output: TableOrJson, verb: str, failure: str) -> None:
    if output is TableOrJson.json:
        print_json(report.as_json())
    else:
        from wmx.backup.present import show_restore

        show_restore(report, verb)
    if not report.ok:
        names = ", ".join(c.what for c in report.mismatches) or report.error
        raise WmxError(f"{failure}: {names}")


@app.command("restore")
def restore_(
    ctx: typer.Context,
    archive: Annotated[str, typer.Argument(help="Archive name (`wmx backup list`) or latest.")],
    to: Annotated[str, typer.Option("--to", help="The (freshly deployed) homeserver host.")],
    repo: Repo = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds data.")
    ] = False,
    output: JsonOutput = TableOrJson.table,
) -> None:
    """Restore ARCHIVE onto HOST (deployed from this site): database, media, signing key
    and unmanaged files, then check that the published server key is the original one."""
    from wmx.backup.progress import steps_display
    from wmx.ops.restore import restore

    site = open_site(ctx)
    with steps_display(err_console) as steps:
        report = restore(site, archive=archive, to=to, repo=repo, force=force, steps=steps)
    _finish(report, output, "Restored", "the restore does not match the archive")
    if output is not TableOrJson.json:
        console.print("[green]Restore complete[/]: everything compared matches the archive.")


@app.command("drill")
def drill_(
    ctx: typer.Context,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Throwaway host (default: a spare host of the inventory)."),
    ] = None,
    archive: Annotated[str, typer.Option(help="Archive name, or latest.")] = "latest",
    repo: Repo = None,
    output: JsonOutput = TableOrJson.table,
) -> None:
    """Restore the latest archive onto a throwaway host and compare: user and room counts,
    latest events of the largest rooms, media checksums, the server signing key.
    Exit status 1 on any mismatch. The live server is only read."""
    from wmx.backup.progress import steps_display
    from wmx.ops.drill import rehearse

    site = open_site(ctx)
    # With --output json, stdout carries the report alone.
    say = console if output is TableOrJson.table else err_console
    report = rehearse(
        site,
        to=to,
        repo=repo,
        archive=archive,
        console=say,
        steps=lambda: steps_display(err_console),
    )
    _finish(report, output, "Drilled", "drill FAILED")
    if output is not TableOrJson.json:
        console.print("[green]Drill passed[/]: the archive restores and matches what it recorded.")
