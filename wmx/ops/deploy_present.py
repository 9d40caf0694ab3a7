"""How `wmx deploy` and `wmx diff` show their plans to people: what each host's roles will
do, and each file or role var that changed since the last deploy (secret files listed,
never shown). The three commands' whole runs are `render_command`, `diff_command` and
`deploy_command`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from wmx.components import Step
from wmx.errors import WmxError
from wmx.present import answer, console
from wmx.site.topology import HostView
from wmx.ssh.connection import Connection, connection
from wmx.ssh.unreachable import unreachable_message

SHOWN = 3  # paths named per component; the rest are counted

if TYPE_CHECKING:
    from wmx.ops.deploy import Deployment
    from wmx.render import FileChange
    from wmx.run.results import RunResult, TaskFailure
    from wmx.site import Site


def show_plan(deployment: Deployment) -> None:
    """The hosts rendered, the files that differ, and per host the roles it converges,
    only verifies (unchanged) and removes."""
    # The role vars as a sentence of their own, after the files' (docs/production.md
    # shows that one).
    hosts = ", ".join(deployment.vars_changed)
    also = f" The role vars of {hosts} differ too (`wmx diff` shows them)." if hosts else ""
    console.print(
        f"Rendered {len(deployment.hosts)} host(s); {_files_said(deployment)}{also}",
        soft_wrap=True,
    )
    for host, plan in deployment.plans.items():
        converge = plan.roles_doing("converge")
        verify = plan.roles_doing("verify")
        # A component this site has off is removed where an earlier deploy converged it;
        # elsewhere (a first deploy) its remove step only makes sure it is absent.
        remove = plan.roles_doing("remove")
        gone = [role for role in remove if Step(role).key in plan.recorded]
        absent = [role for role in remove if role not in gone]
        parts = [f"converge {', '.join(converge)}" if converge else ""]
        parts.append(f"verify {', '.join(verify)} (unchanged)" if verify else "")
        parts.append(f"remove {', '.join(gone)}" if gone else "")
        parts.append(f"make sure {', '.join(absent)} absent (off)" if absent else "")
        line = f"  {host}: {'; '.join(p for p in parts if p) or 'nothing to do'}"
        console.print(line, soft_wrap=True, markup=False, highlight=False)
        if left := plan.changed_left_out():
            line = (
                f"    changed since the last deploy but not in this run (--only): "
                f"{', '.join(left)}; a plain `wmx deploy` applies them"
            )
            console.print(line, soft_wrap=True, markup=False, highlight=False)
        for role, paths in plan.drifted.items():
            more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
            line = (
                f"    {role} converges again: edited or removed on the host since the last "
                f"deploy: {', '.join(paths[:SHOWN])}{more}"
            )
            console.print(line, soft_wrap=True, markup=False, highlight=False)


def _files_said(deployment: Deployment) -> str:
    """How many files the run installs: on a host deployed before, those that differ
    from its last deploy; on a host deployed for the first time, all of its files."""
    first = set(deployment.first_hosts)
    new = sum(change.host in first for change in deployment.pending)
    differ = len(deployment.pending) - new
    if not first:
        return f"{differ} file(s) differ from the last deploy."
    hosts = ", ".join(h for h in deployment.hosts if h in first)
    said = f"{new} file(s) to install on {hosts} (a first deploy)"
    if len(first) == len(deployment.hosts):
        return f"{said}."
    return f"{differ} file(s) differ from the last deploy; {said}."


def show_changes(changes: Sequence[FileChange]) -> None:
    """Each change against the last deploy, with its diff (a secret file's is not shown)."""
    from rich.syntax import Syntax  # pygments: not for `wmx render`, which imports this module

    if not changes:
        console.print("No changes against the last deploy.")
    for change in changes:
        console.print(f"[bold]{change.host}[/] {change.kind}: {change.dest}")
        if change.diff:
            # Whole lines, however long: Rich crops a Syntax's lines at the width (80
            # columns into a pipe), and the end of a changed line was the change not shown.
            console.print(Syntax(change.diff, "diff", theme="ansi_dark"), soft_wrap=True)
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

    def table() -> None:
        never = [h.name for h in site.topology.hosts if not (site.paths.deployed / h.name).is_dir()]
        if never:  # every file of theirs is "added": say why, rather than let it puzzle
            console.print(f"No deploy recorded for {', '.join(never)}: every file is new there.")
        show_changes(changes)

    answer(output, lambda: [c.__dict__ for c in changes], table)


def deploy_command(
    site: Site, limit: str | None, only: list[str], full: bool, check: bool, verbose: bool
) -> None:
    """`wmx deploy`: the plan, the run (its progress and failures shown by the runner),
    what changed and where the homeserver answers; then the IRC bridge made to match."""
    from wmx.ops.deploy import deploy_site, sync_irc_bridge

    result = deploy_site(
        site,
        console=console,
        limit=limit,
        only=only,
        full=full,
        check=check,
        verbose=verbose,
        planned=show_plan,
    )
    if not result.ok:
        # run_playbook has shown each failure and where the run is kept; the last line
        # says the cause and what to do about it.
        raise WmxError(why_failed(site, result))
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


# What an SSH failure's text means, and what to do: (words in Ansible's message, advice).
# {login} is `ssh USER@ADDRESS` as wmx logs in (`-p PORT` when not 22).
_SSH_ADVICE = (
    (
        ("Permission denied",),
        "ssh refused the login: check ansible_user and the key (ansible_ssh_private_key_file "
        "or your ssh-agent); `{login}` must log in without a password",
    ),
    (
        ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "the host's SSH key is not the one known_hosts holds: make sure it is your server, "
        "then `ssh-keygen -R {address}` and `{login}` once",
    ),
    (
        ("Could not resolve hostname", "Name or service not known"),
        "the name does not resolve: check ansible_host in inventory.yml",
    ),
)
_SSH_DEFAULT = (
    "check ansible_host in inventory.yml, that the server is up and that SSH is open to "
    "this machine: `{login}` must log in"
)
_NEEDS_ROOT = ("Missing sudo password", "a password is required", "incorrect sudo password")
_NOT_ROOT = ("Permission denied", "must be run as root", "are you root", "has to be run under")


def _host(site: Site, name: str) -> HostView:
    view = next((h for h in site.topology.hosts if h.name == name), None)
    return view if view is not None else HostView(name, name, ())


def _login(connection: Connection) -> str:
    """`ssh …` as wmx and Ansible log in (ssh's own user when the inventory names none)."""
    port = f"-p {connection.port} " if connection.port and connection.port != 22 else ""
    return f"ssh {port}{connection.destination}"


def _unreachable(site: Site, failure: TaskFailure) -> str:
    host = _host(site, failure.host)
    # wmx.run.failures has taken off ansible-core's "Task failed: "; this one is Ansible's
    # ssh plugin's, before ssh's own words.
    cause = failure.message.splitlines()[0] if failure.message else "no answer"
    cause = cause.removeprefix("Failed to connect to the host via ssh: ")
    advice = next(
        (text for words, text in _SSH_ADVICE if any(w in cause for w in words)), _SSH_DEFAULT
    ).format(login=_login(connection(host)), address=host.address)
    return unreachable_message(host, cause, otherwise=advice)


def _task_advice(site: Site, failure: TaskFailure) -> str:
    """What to do about a failed task whose cause is the login's rights, else ''."""
    login = connection(_host(site, failure.host))
    if any(w in failure.message for w in _NEEDS_ROOT):
        return "; sudo asks for a password: store it with `wmx secrets sudo-password`"
    not_root = login.user not in (None, "root") and not login.become
    if not_root and any(w in failure.message for w in _NOT_ROOT):
        return (
            f"; {failure.host} logs in as {login.user}, not root: set `ansible_become: "
            "true` for it in inventory.yml (wmx's roles need root, through sudo)"
        )
    return ""


def why_failed(site: Site, result: RunResult) -> str:
    """The one line a failed `wmx deploy` ends with: which hosts, the cause, what to do
    (each failure is shown above it; the run's record keeps the rest)."""
    unreachable = [f for f in result.failures if f.unreachable]
    if unreachable:
        return "deploy failed: " + "; ".join(_unreachable(site, f) for f in unreachable)
    if not result.failures:
        return f"deploy failed (ansible-playbook rc {result.rc}); its record: {result.run_dir}"
    first = result.failures[0]
    hosts = sorted({f.host for f in result.failures})
    count = len(result.failures)
    return (
        f"deploy failed: {count} task{'s' if count > 1 else ''} failed on {', '.join(hosts)} "
        f"(first: {first.host}: {first.task}){_task_advice(site, first)}; "
        f"the run's record: {result.run_dir}"
    )
