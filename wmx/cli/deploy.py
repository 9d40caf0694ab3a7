"""`wmx render`, `wmx diff`, `wmx deploy`: from the site model to converged hosts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.syntax import Syntax

from wmx.cli.common import OutputFormat, console, open_site, print_json
from wmx.errors import InputError, WmxError
from wmx.render import diff_trees, record_deployed, render_site, write_build
from wmx.resources import data_dir
from wmx.run import run_playbook
from wmx.site import Site
from wmx.site.topology import COMPONENT_ORDER


def _render(site: Site) -> Path:
    return write_build(site, render_site(site))


def render(ctx: typer.Context) -> None:
    """Write every file the hosts will receive to build/HOST/… (no host is touched)."""
    site = open_site(ctx)
    build = _render(site)
    for host in site.topology.hosts:
        count = sum(
            1 for p in (build / host.name).rglob("*") if p.is_file() and ".wmx" not in p.parts
        )
        console.print(f"{host.name}: {count} files in {build / host.name}")


def diff(
    ctx: typer.Context,
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.table,
) -> None:
    """Show what `wmx deploy` would change in the files, against the last successful deploy.

    Secret files are listed when they change, never shown.
    """
    site = open_site(ctx)
    build = _render(site)
    changes = diff_trees(site.paths.deployed, build, [h.name for h in site.topology.hosts])
    if output is OutputFormat.json:
        print_json([c.__dict__ for c in changes])
        return
    if not changes:
        console.print("No changes against the last deploy.")
    for change in changes:
        console.print(f"[bold]{change.host}[/] {change.kind}: {change.dest}")
        if change.diff:
            console.print(Syntax(change.diff, "diff", theme="ansi_dark"))
        elif change.kind == "changed":
            console.print("  (secret file: content not shown)")


def _check_only(only: list[str]) -> list[str]:
    unknown = sorted(set(only) - set(COMPONENT_ORDER))
    if unknown:
        raise InputError(
            f"--only {', '.join(unknown)}: unknown component; known: {', '.join(COMPONENT_ORDER)}"
        )
    return only


def deploy(
    ctx: typer.Context,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Dry run: report what would change, with diffs; change nothing."
        ),
    ] = False,
    limit: Annotated[str | None, typer.Option(help="Only these hosts (Ansible pattern).")] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(help=f"Only this component (repeatable): {', '.join(COMPONENT_ORDER)}."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Ansible's own output.")
    ] = False,
) -> None:
    """Render the site and converge its hosts with Ansible.

    Shows progress per task and a recap per host; a failure names host, task and cause.
    Re-running with nothing changed reports 0 changed.
    """
    site = open_site(ctx)
    components = _check_only(only or [])
    hosts = [h.name for h in site.topology.hosts]
    if limit and limit not in hosts and not any(ch in limit for ch in ":*,!&"):
        raise InputError(f"--limit {limit}: no such host in the inventory ({', '.join(hosts)})")
    build = _render(site)
    pending = diff_trees(site.paths.deployed, build, hosts)
    console.print(
        f"Rendered {len(hosts)} host(s); {len(pending)} file(s) differ from the last deploy."
    )
    result = run_playbook(
        runs_dir=site.paths.runs,
        playbook=data_dir("playbooks") / "site.yml",
        inventory=site.paths.inventory,
        extravars={"wmx_build_dir": str(build), "wmx_only": components},
        limit=limit,
        check=check,
        diff=check,
        verbose=verbose,
        console=console,
    )
    if not result.ok:
        # run_playbook has shown each failure and where the run is kept.
        raise WmxError("deploy failed")
    if check:
        console.print(f"Dry run: {result.changed_total} task(s) would change.")
        return
    record_deployed(site, [h for h in hosts if h in result.stats] or hosts)
    console.print(
        f"[green]Deployed[/]: {result.changed_total} task(s) changed. "
        f"Homeserver: https://{site.config.homeserver.host}/ "
        f"(server name {site.config.server_name})"
    )
    _sync_irc_bridge(site, components, set(result.stats))


def _sync_irc_bridge(site: Site, components: list[str], converged: set[str]) -> None:
    """The IRC bridge keeps its networks and allow list in Synapse, not in files: after a
    deploy that converged it, tell the running bridge what wmx.yaml says (wmx.irc)."""
    bridge = site.topology.bridge_host
    if bridge is None or bridge.name not in converged:
        return
    if components and "irc_bridge" not in components:
        return
    from wmx.irc.manage import bridge_session

    try:
        with console.status("Configuring the IRC bridge"), bridge_session(site) as manager:
            report = manager.sync()
    except WmxError as exc:
        raise WmxError(
            f"the IRC bridge runs, but did not take wmx.yaml's settings: {exc}\n"
            "Retry with `wmx irc sync`."
        ) from None
    if report.changes:
        console.print(f"IRC bridge: {'; '.join(report.changes)}.")
