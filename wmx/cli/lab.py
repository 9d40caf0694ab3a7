"""`wmx lab`: throwaway Debian hosts on this machine to deploy to (needs root)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from wmx.cli.common import OutputFormat, console, err_console, print_json
from wmx.errors import WmxError
from wmx.lab import Lab, LabError, LabHost
from wmx.lab.addressing import MAX_HOSTS

app = typer.Typer(
    help="Throwaway Debian 12 hosts on this machine (systemd-nspawn, needs root): "
    "`wmx lab up`, then `wmx deploy` as to any VPS.",
    no_args_is_help=True,
)


def _fail(error: WmxError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {error}", highlight=False)
    return typer.Exit(error.exit_code)


def _site_dir(ctx: typer.Context, site: Path | None) -> Path | None:
    """--site here, else the global --site, else the current directory if it is a site."""
    if site is not None:
        return site
    root = ctx.find_root().obj
    given = root.get("site") if isinstance(root, dict) else None
    if given:
        return Path(given)
    cwd = Path.cwd()
    return cwd if (cwd / "wmx.yaml").is_file() else None


def _hosts_table(hosts: list[LabHost]) -> Table:
    table = Table("host", "address", "name", "state")
    for host in hosts:
        state = "[green]running[/]" if host.running else "[red]stopped[/]"
        table.add_row(host.name, host.address, host.fqdn, state)
    return table


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
            file_okay=False,
            exists=True,
            help="Point this site at the lab (inventory, ACME directory, names). "
            "Default: the current directory if it holds wmx.yaml.",
        ),
    ] = None,
) -> None:
    """Boot lab hosts (idempotent: running hosts are kept, a bigger --hosts adds some).

    The first run builds a Debian rootfs with debootstrap (about a minute); later hosts
    boot in seconds.
    """
    try:
        Lab.require_root()
        site_dir = _site_dir(ctx, site)
        status = console.status("Starting the lab")
        with status:
            lab = Lab(progress=lambda text: status.update(text))
            started = lab.up(hosts)
            if site_dir is not None:
                status.update(f"Pointing the site {site_dir} at the lab")
                # Imported here: the site model is only needed with --site.
                from wmx.site.lab_glue import attach_site

                attach_site(site_dir.resolve(), started, lab)
    except WmxError as error:
        raise _fail(error) from None
    console.print(_hosts_table(started))
    console.print(f"ssh: [bold]wmx lab shell {started[0].name}[/] (key: {lab.ssh_key_path})")
    console.print(f"ACME directory: {lab.acme_directory}; clients trust {lab.trust_bundle_path}")
    if site_dir is not None:
        console.print(f"Site [bold]{site_dir}[/] now deploys to the lab: run `wmx deploy`.")


@app.command()
def status(
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.table,
) -> None:
    """List lab hosts, their addresses and whether they run."""
    try:
        Lab.require_root()
        lab = Lab()
        hosts = lab.hosts()
        names = lab.names()
    except WmxError as error:
        raise _fail(error) from None
    if output is OutputFormat.json:
        print_json(
            {
                "hosts": [
                    {"name": h.name, "address": h.address, "fqdn": h.fqdn, "running": h.running}
                    for h in hosts
                ],
                "names": names,
                "acme_directory": lab.acme_directory,
                "trust_bundle": str(lab.trust_bundle_path),
                "ssh_key": str(lab.ssh_key_path),
            }
        )
        return
    if not hosts:
        console.print("No lab hosts. Start some with `wmx lab up`.")
        return
    console.print(_hosts_table(hosts))
    for name, host in sorted(names.items()):
        console.print(f"{name} → {host}")


@app.command()
def shell(
    host: Annotated[str, typer.Argument(help="Host name, e.g. lab1.")],
) -> None:
    """Open an interactive root shell on a lab host (over ssh with the lab key)."""
    try:
        Lab.require_root()
        lab = Lab()
        lab_host = lab.host(host)
        if not lab_host.running:
            raise LabError(f"{host} is not running; start it with `wmx lab up`")
        argv = lab.ssh_argv(lab_host, tty=True)
    except WmxError as error:
        raise _fail(error) from None
    # Replace this process: the shell owns the terminal, and its exit status is ours.
    os.execvp(argv[0], argv)


@app.command()
def down(
    purge: Annotated[
        bool,
        typer.Option(
            "--purge",
            help="Also delete the rootfs cache, the apt/pip caches, the SSH key and the CA.",
        ),
    ] = False,
) -> None:
    """Stop and delete every lab host, pebble, and the lab's network and names."""
    try:
        Lab.require_root()
        status = console.status("Stopping the lab")
        with status:
            Lab(progress=lambda text: status.update(text)).down(purge=purge)
    except WmxError as error:
        raise _fail(error) from None
    console.print("The lab is down." + (" Caches, key and CA purged." if purge else ""))
