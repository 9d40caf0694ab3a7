"""`wmx lab`: throwaway Debian hosts on this machine to deploy to (needs root).

A LabError (no root, a failed command) reaches the operator through wmx's own group: one
line on stderr and its exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wmx.cli.common import JsonOutput, TableOrJson, global_site, group

# wmx.lab.addressing.MAX_HOSTS, written out so that `--help` needs no lab import
# (tests/unit/test_cli_imports.py keeps the two equal).
MAX_HOSTS = 200

app = group("lab")


@app.command()
def up(
    ctx: typer.Context,
    hosts: Annotated[
        int,
        typer.Option("--hosts", "-n", min=1, max=MAX_HOSTS, help="How many hosts (lab1..labN)."),
    ] = 1,
    site: Annotated[
        Path | None,
        typer.Option(
            "--site",
            exists=True,
            help="Point this site at the lab (inventory, ACME directory, names). "
            "Default: the current directory if it holds wmx.yaml (never $WMX_SITE or a "
            "parent directory: pointing rewrites the site's inventory).",
        ),
    ] = None,
    from_snapshot: Annotated[
        str | None,
        typer.Option(
            "--from-snapshot",
            metavar="NAME",
            help="Replace the snapshot's hosts by copies of it (see `wmx lab snapshot`) "
            "instead of starting lab1..N.",
        ),
    ] = None,
    release: Annotated[
        list[str] | None,
        typer.Option(
            "--release",
            "-r",
            metavar="[HOST=]RELEASE",
            help="Debian release of new hosts: trixie (13) or bookworm (12); HOST=RELEASE for "
            "one host, e.g. `-n 2 -r lab2=bookworm`. Default: $WMX_LAB_RELEASE, else trixie. "
            "A host that exists keeps the release it runs.",
        ),
    ] = None,
    on: Annotated[
        list[str] | None,
        typer.Option(
            "--on",
            metavar="HOST",
            help="With --site: put the site on these hosts only, in this order (the first "
            "runs every component, the second keeps its backups), so that two sites share "
            "the lab, e.g. `-n 2 --site a --on lab1`, then `-n 2 --site b --on lab2`. "
            "Default: every host.",
        ),
    ] = None,
    sudo_user: Annotated[
        str | None,
        typer.Option(
            "--sudo-user",
            metavar="USER",
            help="Make the hosts like a typical VPS: root cannot log in over SSH, USER "
            "can and becomes root with sudo (no password); the site's inventory logs in "
            "as USER with ansible_become.",
        ),
    ] = None,
) -> None:
    """Boot lab hosts (idempotent: running hosts are kept, a bigger --hosts adds some).

    The first run of each release builds its Debian rootfs with debootstrap (minutes);
    later hosts boot in seconds.
    """
    from wmx.ops.lab_glue import LabUp, lab_site, up_command

    site_dir = lab_site(site, global_site(ctx))
    up_command(
        LabUp(hosts, tuple(release or ()), from_snapshot, sudo_user, tuple(on or ()), site_dir)
    )


@app.command()
def status(output: JsonOutput = TableOrJson.table) -> None:
    """List lab hosts, their addresses and whether they run."""
    from wmx.lab.present import status_command

    status_command(output)


@app.command()
def shell(host: Annotated[str, typer.Argument(help="Host name, e.g. lab1.")]) -> None:
    """Open an interactive root shell on a lab host (over ssh with the lab key)."""
    from wmx.lab import present

    present.shell(host)


@app.command()
def down(
    purge: Annotated[
        bool,
        typer.Option(
            "--purge",
            help="Also delete the rootfs cache, the apt/pip caches and wheels, the snapshots, "
            "the SSH key and the CA.",
        ),
    ] = False,
) -> None:
    """Stop and delete every lab host, pebble, and the lab's network and names."""
    from wmx.lab import present

    present.down(purge)


@app.command()
def snapshot(
    hosts: Annotated[list[str], typer.Argument(help="Hosts to copy, e.g. lab1 (or lab4 lab5).")],
    name: Annotated[str, typer.Option("--name", help="The snapshot's name.")],
) -> None:
    """Copy hosts' disks into a snapshot that `wmx lab up --from-snapshot` boots later.

    Running hosts are frozen for the copy (seconds) and go on afterwards. A snapshot of
    the same name is replaced. Snapshots survive `down`; `down --purge` deletes them.
    """
    from wmx.lab import present

    present.snapshot(name, hosts)


@app.command()
def snapshots(
    delete: Annotated[
        str | None, typer.Option("--delete", metavar="NAME", help="Delete this snapshot.")
    ] = None,
    output: JsonOutput = TableOrJson.table,
) -> None:
    """List the snapshots of lab hosts (or delete one)."""
    from wmx.lab.present import snapshots_command

    snapshots_command(delete, output)
