"""`wmx render`, `wmx diff`, `wmx deploy`: parse, call wmx.ops.deploy, present.

Import-light: `wmx --help` imports this module, so the renderer, the site model and the
runner are imported inside the commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.common import JsonOutput, TableOrJson, console, open_site, print_json
from wmx.errors import WmxError

# Literal, so that --help needs no import of the component registry; `--only` is checked
# against the play's roles (wmx.ops.deploy.check_only).
COMPONENTS_HELP = (
    "base, postgresql, synapse, irc_bridge, element, nginx, turn, exporters, monitoring, "
    "backup, backup_repo"
)


def render(ctx: typer.Context) -> None:
    """Write every file the hosts will receive to build/HOST/… (no host is touched)."""
    # The renderer itself, not wmx.ops.deploy: that imports the runner (ansible-runner),
    # which rendering has no use for (issue 18).
    from wmx.render import plan_site, write_build

    site = open_site(ctx)
    plan = plan_site(site)
    build = write_build(site, plan)
    for name, host in plan.hosts.items():
        console.print(f"{name}: {len(host.files)} files in {build / name}")


def diff(
    ctx: typer.Context,
    output: JsonOutput = TableOrJson.table,
) -> None:
    """Show what `wmx deploy` would change in the files and role vars (versions, …),
    against the last successful deploy.

    Secret files are listed when they change, never shown.
    """
    from wmx.ops.deploy import diff_site
    from wmx.ops.deploy_present import show_changes

    changes = diff_site(open_site(ctx))
    if output is TableOrJson.json:
        print_json([c.__dict__ for c in changes])
    else:
        show_changes(changes)


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
        typer.Option(help=f"Only this component (repeatable), fully: {COMPONENTS_HELP}."),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Converge every component, also those unchanged since the last deploy "
            "(which are otherwise only verified: service running, firewall loaded).",
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Ansible's own output.")
    ] = False,
) -> None:
    """Render the site and converge its hosts with Ansible.

    A component whose files, role vars and tasks are unchanged since the last successful
    deploy is only verified; --full converges everything. Shows progress per task and a
    recap per host; a failure names host, task and cause. Re-running with nothing changed
    reports 0 changed.
    """
    from wmx.ops.deploy import plan_deploy, run_deploy, sync_irc_bridge
    from wmx.ops.deploy_present import show_plan

    site = open_site(ctx)
    components = only or []
    deployment = plan_deploy(site, limit=limit, only=components, full=full)
    show_plan(deployment)
    result = run_deploy(deployment, check=check, verbose=verbose, console=console)
    if not result.ok:
        # run_playbook has shown each failure and where the run is kept.
        raise WmxError("deploy failed")
    if check:
        console.print(f"Dry run: {result.changed_total} task(s) would change.")
        return
    console.print(
        f"[green]Deployed[/]: {result.changed_total} task(s) changed. "
        f"Homeserver: https://{site.config.homeserver.host}/ "
        f"(server name {site.config.server_name})"
    )
    with console.status("Configuring the IRC bridge"):
        changes = sync_irc_bridge(site, components, set(result.stats))
    if changes:
        console.print(f"IRC bridge: {'; '.join(changes)}.")
