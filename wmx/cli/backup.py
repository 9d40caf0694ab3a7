"""`wmx backup`: take, list, restore and rehearse backups of the homeserver host."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wmx.cli.common import JsonOutput, TableOrJson, group, open_site

app = group("backup")

HostOption = Annotated[
    str | None,
    typer.Option("--host", help="The host running the backup job (default: the homeserver)."),
]
Repo = Annotated[
    str | None, typer.Option("--repo", help="Read this repository (default: the first holding it).")
]


@app.command("run")
def run(ctx: typer.Context, host: HostOption = None) -> None:
    """Back up now (the timer's job): dump, archive to every repository, prune, compact."""
    from wmx.backup.present import run_now

    run_now(open_site(ctx), host)


@app.command("list")
def list_(
    ctx: typer.Context, host: HostOption = None, output: JsonOutput = TableOrJson.table
) -> None:
    """List every repository's archives (time, size, size added after deduplication) and
    the job's last run. Exit status 1 when the last run failed or a repository is unusable."""
    from wmx.backup.present import list_all

    list_all(open_site(ctx), host, output)


@app.command("export-key")
def export_key_(
    ctx: typer.Context,
    repo: Annotated[
        str | None, typer.Option("--repo", help="Repository label (default: every one).")
    ] = None,
    directory: Annotated[
        Path,
        typer.Option("--dir", "-d", help="Directory for the key files, or - for standard output."),
    ] = Path("."),
    # Its name before: -o is an output format in every other command (`-o json` had
    # written into ./json). Still read, said so, and never a format.
    output: Annotated[
        Path | None, typer.Option("--output", "-o", hidden=True, help="Old name of --dir.")
    ] = None,
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
    from wmx.backup.present import export_keys, key_directory

    export_keys(open_site(ctx), host, repo, key_directory(directory, output), paper)


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
    """Restore ARCHIVE onto the host --to names (deployed from this site): database,
    media, signing key and unmanaged files, then check that the published server key is
    the original one."""
    from wmx.ops.backup_present import restore_command

    restore_command(open_site(ctx), archive, to, repo, force, output)


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
    from wmx.ops.backup_present import drill_command

    drill_command(open_site(ctx), to, archive, repo, output)
