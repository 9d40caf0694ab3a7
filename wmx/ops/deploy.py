"""The deploy workflow: render, plan each host (:mod:`wmx.ops.deploy_plan`), run
``playbooks/site.yml`` over the plans, record what was deployed; and ``wmx diff``.

The play gets each host's plan, role vars and files in a file of host variables whose
strings are all unsafe (:mod:`wmx.run.unsafe`): no value from a site is ever evaluated
as a template.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from wmx.components import COMPONENTS, Step
from wmx.errors import InputError, WmxError
from wmx.ops.deploy_packages import (
    covered_roles,
    host_transactions,
    later_waves,
    venv_roles,
    wait_roles,
)
from wmx.ops.deploy_plan import (
    STATE_DIR,
    HostPlan,
    PlaybookDigests,
    check_only,
    kept_role_vars,
    left_out_roles,
    plan_host,
    play_order,
    play_vars,
    record_converged,
)
from wmx.ops.drift import converge_drifted
from wmx.ops.preflight import preflight
from wmx.render import FileChange, diff_trees, plan_site, record_deployed, write_build
from wmx.render.build_tree import VARS_FILE, KeptRoles, Record, build_locked, read_record
from wmx.render.plan import vars_text
from wmx.resources import data_dir
from wmx.run import RunResult, run_playbook
from wmx.site import Site
from wmx.site.given import given
from wmx.site.state_files import load_optional
from wmx.site.topology import HostView
from wmx.ssh.connection import run_as_root
from wmx.ssh.sums import Runner

# -- the workflow -----------------------------------------------------------------------


def render_build(site: Site) -> Path:
    """Render the site into build/ (replacing it) and return build/: one plan per host,
    computed once, gives both the files and vars.json."""
    return write_build(site, plan_site(site))


def vars_changes(
    old: Path | Record, new: Path | Record, hosts: Collection[str]
) -> list[FileChange]:
    """vars.json against the last deploy, as a diff: a version bump shows here.

    vars.json holds no secret (docs/contracts.md), so it is shown in full.
    """
    old = old if isinstance(old, Record) else read_record(old, hosts)
    new = new if isinstance(new, Record) else read_record(new, hosts)
    changes: list[FileChange] = []
    for host in hosts:
        before, after = old.vars_lines[host], new.vars_lines[host]
        if before == after:
            continue
        kind = "added" if not before else "removed" if not after else "changed"
        text = "".join(
            difflib.unified_diff(
                before, after, f"deployed/{host}/{VARS_FILE}", f"build/{host}/{VARS_FILE}"
            )
        )
        dest = f"role vars ({VARS_FILE})"
        changes.append(FileChange(host=host, dest=dest, kind=kind, diff=text))
    return changes


def diff_site(site: Site) -> list[FileChange]:
    """Render, then every file and role var that differs from the last deploy (build/'s
    lock held throughout: no other render replaces the tree while it is compared). The
    last deploy's record is read first: one wmx refuses (a link out of the site) leaves
    build/ as it was, since nothing is written on an error."""
    with build_locked(site.paths.build):
        hosts = [h.name for h in site.topology.hosts]
        deployed = read_record(site.paths.deployed, hosts)
        build = read_record(render_build(site), hosts)
        return diff_trees(deployed, build, hosts) + vars_changes(deployed, build, hosts)


@dataclass
class Deployment:
    """A rendered site and each host's plan, ready to run."""

    site: Site
    build: Path
    hosts: list[str]
    plans: dict[str, HostPlan]
    order: list[Step]
    limit: str | None = None
    pending: list[FileChange] = field(default_factory=list)
    # hosts whose role vars (a version, a setting no file shows) changed since their
    # last deploy: a plan converging with "0 file(s) differ" says why
    vars_changed: list[str] = field(default_factory=list)
    # hosts this site has never deployed (no record under .wmx/deployed/): their files
    # are to be installed, not "differ from the last deploy"
    first_hosts: list[str] = field(default_factory=list)


def plan_deploy(
    site: Site,
    build: Path | None = None,
    *,
    limit: str | None = None,
    only: Sequence[str] = (),
    full: bool = False,
    playbooks: Path | None = None,
    run: Runner = run_as_root,
) -> Deployment:
    """Check the options, render (unless ``build`` is given) and plan every host.

    A caller that runs the plan holds build/'s lock (build_locked) from before this call
    until run_deploy returns, or uses deploy_site, which does."""
    playbooks = playbooks or data_dir("playbooks")
    only = check_only(only, playbooks)
    hosts = [h.name for h in site.topology.hosts]
    if limit and limit not in hosts and not any(ch in limit for ch in ":*,!&"):
        known = ", ".join(hosts)
        raise InputError(f"--limit {given(limit)}: no such host in the inventory ({known})")
    deployed = read_record(site.paths.deployed, hosts)  # refused before build/ is written
    build = build or render_build(site)
    digests = PlaybookDigests(playbooks)
    plans = {
        h: plan_host(h, build / h, site.paths.deployed / h, digests, only=only, full=full)
        for h in hosts
    }
    if not full and not only:  # a file edited on a host: its component converges again
        asked = [h for h in site.topology.hosts if limit not in hosts or h.name == limit]
        converge_drifted(asked, plans, run)
    for host in site.topology.hosts:
        plan = plans[host.name]
        plan.verify_units = verify_units(host, plan)
        converging = plan.roles_doing("converge")
        later = later_waves(playbooks, converging)
        plan.packages = host_transactions(playbooks, converging, plan.role_vars, later)
        plan.venv_roles = venv_roles(playbooks, converging)
        plan.packages_done = covered_roles(playbooks, converging, plan.role_vars)
        plan.packages_wait = wait_roles(playbooks, plan.packages, converging, plan.role_vars)
    built = read_record(build, hosts)
    pending = diff_trees(deployed, built, hosts)
    changed = [c.host for c in vars_changes(deployed, built, hosts) if c.kind == "changed"]
    order = play_order(list(plans.values()))
    first = [h for h in hosts if not (site.paths.deployed / h).is_dir()]
    return Deployment(site, build, hosts, plans, order, limit, pending, changed, first)


def verify_units(host: HostView, plan: HostPlan) -> list[str]:
    """The systemd units of the components this host only verifies (each component's
    services, wmx.components); a unit given as a glob is left to its role's verify."""
    verified = set(plan.roles_doing("verify"))
    return [
        service.unit
        for component in COMPONENTS
        if component.name in verified
        for service in component.host_services(host)
        if "*" not in service.unit
    ]


def run_deploy(
    deployment: Deployment,
    *,
    check: bool = False,
    verbose: bool = False,
    console: Console,
    record: bool = True,
    playbooks: Path | None = None,
    throwaway: bool = False,
) -> RunResult:
    """Run site.yml over the plan; after a successful real run, record it as deployed
    (the baseline of `wmx diff` and of the next deploy's plan). `throwaway`: the hosts'
    data is replaced right after (a drill's spare host), so an older Synapse release
    than one runs there is installed, not refused."""
    playbooks = playbooks or data_dir("playbooks")
    site = deployment.site
    if not check:
        preflight(site, certificate_hosts(deployment))
    with build_locked(site.paths.build):
        with _database_password(deployment) as secret_files:
            result = run_playbook(
                runs_dir=site.paths.runs,
                playbook=playbooks / "site.yml",
                inventory=site.paths.inventory,
                extravars={
                    "wmx_build_dir": str(deployment.build),
                    **({"synapse_older_allowed": True} if throwaway else {}),
                },
                host_vars={h: play_vars(p, deployment.order) for h, p in deployment.plans.items()},
                secret_files=secret_files,
                limit=deployment.limit,
                check=check,
                diff=check,
                verbose=verbose,
                console=console,
            )
        if result.ok and not check and record:
            ran = [h for h in deployment.hosts if h in result.stats] or deployment.hosts
            record_deployed(site, ran, kept_records(deployment, ran))
            for host in ran:
                record_converged(site.paths.deployed / host, deployment.plans[host])
    return result


def kept_records(deployment: Deployment, hosts: Iterable[str]) -> dict[str, KeptRoles]:
    """Per host, what its record keeps from the last deploy: the roles `--only` left
    out that differ from it (their files, manifest entries and role vars as they were),
    so that `wmx diff` and doctor's config-drift still see what is not deployed."""
    kept: dict[str, KeptRoles] = {}
    for host in hosts:
        plan = deployment.plans[host]
        roles = left_out_roles(plan)
        if not roles:
            continue
        deployed = deployment.site.paths.deployed / host
        recorded = load_optional(deployed / STATE_DIR / "vars.json", deployed.parent)
        before = recorded if isinstance(recorded, dict) else {}
        kept[host] = KeptRoles(roles, vars_text(kept_role_vars(plan, roles, before)))
    return kept


def deploy_site(
    site: Site,
    *,
    console: Console,
    limit: str | None = None,
    only: Sequence[str] = (),
    full: bool = False,
    check: bool = False,
    verbose: bool = False,
    planned: Callable[[Deployment], None] | None = None,
    throwaway: bool = False,
) -> RunResult:
    """Render, plan and run (`planned` is shown the plan before the run), with build/'s
    lock held from the render through the record after the run: a `wmx render` started
    meanwhile refuses (busy), where it had replaced the tree Ansible then copied.
    `throwaway` as for run_deploy."""
    with build_locked(site.paths.build):
        deployment = plan_deploy(site, limit=limit, only=only, full=full)
        if planned is not None:
            planned(deployment)
        return run_deploy(
            deployment, check=check, verbose=verbose, console=console, throwaway=throwaway
        )


def certificate_hosts(deployment: Deployment) -> list[str]:
    """The hosts this run converges nginx on (and so may order a certificate for)."""
    limit = deployment.limit
    hosts = [limit] if limit in deployment.hosts else deployment.hosts  # a pattern: all
    return [h for h in hosts if "nginx" in deployment.plans[h].roles_doing("converge")]


@contextlib.contextmanager
def _database_password(deployment: Deployment) -> Iterator[dict[str, Path]]:
    """The password of Synapse's database role, for the postgresql role's converge, in a
    0600 file that exists for the run only: the password when Synapse connects from
    another host, empty (no password) when it uses the local socket."""
    plans = deployment.plans.values()
    if not any(p.actions.get("postgresql:converge") == "converge" for p in plans):
        yield {}
        return
    topology = deployment.site.topology
    database = topology.the("database").name
    remote = any(h.name != database for h in topology.in_group("homeserver"))
    password = deployment.site.secrets.postgres_password if remote else ""
    state = deployment.site.paths.state
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=".database-password-", dir=state)
    path = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(password)
        yield {"postgresql_password_file": path}
    finally:
        path.unlink(missing_ok=True)


def sync_irc_bridge(site: Site, only: Sequence[str], converged: Iterable[str]) -> list[str]:
    """The IRC bridge keeps its networks and allow list in Synapse, not in files: after a
    deploy that ran on its host, tell the running bridge what wmx.yaml says (wmx.irc).
    Returns what changed; raises WmxError when the bridge would not take it."""
    bridge = site.topology.bridge_host
    if bridge is None or bridge.name not in set(converged):
        return []
    if only and "irc_bridge" not in only:
        return []
    from wmx.irc.manage import bridge_session

    try:
        with bridge_session(site) as manager:
            report = manager.sync()
    except WmxError as exc:
        first, *rest = exc.lines
        raise WmxError(
            [
                f"the IRC bridge runs, but did not take wmx.yaml's settings: {first}",
                *rest,
                "Retry with `wmx irc sync`.",
            ]
        ) from None
    return list(report.changes)
