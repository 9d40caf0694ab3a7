"""How `wmx deploy` and `wmx diff` show their plans to people: what each host's roles will
do, and each file or role var that changed since the last deploy (secret files listed,
never shown). The three commands' whole runs are `render_command`, `diff_command` and
`deploy_command`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from wmx.errors import WmxError
from wmx.present import answer, console

if TYPE_CHECKING:
    from wmx.ops.deploy import Deployment
    from wmx.render import FileChange
    from wmx.site import Site


def show_plan(deployment: Deployment) -> None:
    """The hosts rendered, the files that differ, and per host the roles it converges,
    only verifies (unchanged) and removes."""
    console.print(
        f"Rendered {len(deployment.hosts)} host(s); "
        f"{len(deployment.pending)} file(s) differ from the last deploy."
    )
    for host, plan in deployment.plans.items():
        converge = plan.roles_doing("converge")
        verify = plan.roles_doing("verify")
        remove = plan.roles_doing("remove")
        parts = [f"converge {', '.join(converge)}" if converge else ""]
        parts.append(f"verify {', '.join(verify)} (unchanged)" if verify else "")
        parts.append(f"remove {', '.join(remove)}" if remove else "")
        line = f"  {host}: {'; '.join(p for p in parts if p) or 'nothing to do'}"
        console.print(line, soft_wrap=True, markup=False, highlight=False)


def show_changes(changes: Sequence[FileChange]) -> None:
    """Each change against the last deploy, with its diff (a secret file's is not shown)."""
    from rich.syntax import Syntax  # pygments: not for `wmx render`, which imports this module

    if not changes:
        console.print("No changes against the last deploy.")
    for change in changes:
        console.print(f"[bold]{change.host}[/] {change.kind}: {change.dest}")
        if change.diff:
            console.print(Syntax(change.diff, "diff", theme="ansi_dark"))
        elif change.kind == "changed":
            console.print("  (secret file: content not shown)")


def render_command(site: Site) -> None:
    """`wmx render`: the build tree written, a line per host. The renderer alone: not
    wmx.ops.deploy, which imports the runner (ansible-runner) rendering has no use for."""
    from wmx.render import plan_site, write_build

    plan = plan_site(site)
    build = write_build(site, plan)
    for name, host in plan.hosts.items():
        console.print(f"{name}: {len(host.files)} files in {build / name}")


def diff_command(site: Site, output: str) -> None:
    """`wmx diff`."""
    from wmx.ops.deploy import diff_site

    changes = diff_site(site)
    answer(output, lambda: [c.__dict__ for c in changes], lambda: show_changes(changes))


def deploy_command(
    site: Site, limit: str | None, only: list[str], full: bool, check: bool, verbose: bool
) -> None:
    """`wmx deploy`: the plan, the run (its progress and failures shown by the runner),
    what changed and where the homeserver answers; then the IRC bridge made to match."""
    from wmx.ops.deploy import plan_deploy, run_deploy, sync_irc_bridge

    deployment = plan_deploy(site, limit=limit, only=only, full=full)
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
        changes = sync_irc_bridge(site, only, set(result.stats))
    if changes:
        console.print(f"IRC bridge: {'; '.join(changes)}.")
