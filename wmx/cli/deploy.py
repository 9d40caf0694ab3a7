"""`wmx render`, `wmx diff`, `wmx deploy`: parse, call wmx.ops.deploy, present.

Import-light: `wmx --help` imports this module, so the renderer, the site model and the
runner are imported inside the commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.common import JsonOutput, TableOrJson, open_site

# Literal, so that --help needs no import of the component registry; `--only` is checked
# against the play's roles (wmx.ops.deploy_plan.check_only); a test holds the two equal.
COMPONENTS_HELP = (
    "base, postgresql, redis, synapse, synapse_workers, irc_bridge, element, nginx, turn, "
    "exporters, monitoring, backup_repo, backup"
)


def render(ctx: typer.Context) -> None:
    """Write every file the hosts will receive to build/HOST/… (no host is touched)."""
    from wmx.ops.deploy_present import render_command

    render_command(open_site(ctx))


def diff(ctx: typer.Context, output: JsonOutput = TableOrJson.table) -> None:
    """Show what `wmx deploy` would change in the files and role vars (versions, …),
    against the last successful deploy.

    Secret files are listed when they change, never shown.
    """
    from wmx.ops.deploy_present import diff_command

    diff_command(open_site(ctx), output)


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
    from wmx.ops.deploy_present import deploy_command

    deploy_command(open_site(ctx), limit, only or [], full, check, verbose)
