"""Each host's deploy plan: which steps run, and which are only verified or left out.

Each host's build carries its plan in ``build/<host>/.wmx/vars.json``: ``wmx_roles``,
the ordered steps ``{"role": …, "action": "converge" | "remove" | …}``. wmx compares
every step with what the last successful deploy recorded in
``.wmx/deployed/<host>/.wmx/converged.json``: a digest per step of the files it
installs, its role vars and its role's tasks, defaults and packages. A ``converge``
whose digest is unchanged becomes ``verify`` (the service still runs, the firewall is
still loaded); the steps that follow such a converge (``start``, ``repositories``) and a
``remove`` already done are left out. ``full=True`` runs every step as planned; ``only``
runs those components' steps, all of them.

The play gets each host's plan as data (``wmx_plan``), aligned on one order shared by
every host, so that a step on one host never runs before an earlier step on another
(PostgreSQL on the database host before Synapse on the homeserver host).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wmx.components import Step, step_rank
from wmx.errors import InputError, WmxError
from wmx.render.engine import component_owns
from wmx.resources import data_dir
from wmx.site.given import given
from wmx.site.state_files import load_optional, write_state

STATE_DIR = ".wmx"
CONVERGED_FILE = "converged.json"
# Steps that only make sense right after their role's converge in the same run.
FOLLOWERS = frozenset({"start", "repositories"})


@dataclass
class HostPlan:
    """What the play does on one host, and why."""

    host: str
    steps: list[Step]  # the build's plan, in order
    actions: dict[str, str]  # step key -> the task file to run; a step left out is absent
    digests: dict[str, str]  # step key -> digest of what it installs
    role_vars: dict[str, Any]
    manifest: list[dict[str, Any]]
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    recorded: dict[str, str] = field(default_factory=dict)  # converged.json as it was
    # role -> the paths its last converge installed (converged.json's "files")
    installed: dict[str, list[str]] = field(default_factory=dict)
    # systemd units of the components only verified, which the play checks up front
    verify_units: list[str] = field(default_factory=list)
    # apt transactions before the walk and the roles building venvs meanwhile
    # (wmx.ops.deploy_packages)
    packages: list[dict[str, Any]] = field(default_factory=list)
    venv_roles: list[str] = field(default_factory=list)
    packages_done: list[str] = field(default_factory=list)  # roles whose apt task is skipped
    # role -> the later packages its steps wait for (None: all of them, its own apt
    # task runs), of the transactions apt installs during the walk
    packages_wait: dict[str, list[str] | None] = field(default_factory=dict)
    # role -> its files edited or gone on the host since the last deploy (wmx.ops.drift):
    # converged again although its rendering is unchanged
    drifted: dict[str, list[str]] = field(default_factory=dict)
    # roles without tasks/verify.yml: their services are all a verify checks, which
    # site.yml does up front (wmx_verify_units), so the walk gives them no slot
    nothing_to_verify: set[str] = field(default_factory=set)

    def roles_doing(self, action: str) -> list[str]:
        return [s.role for s in self.steps if self.actions.get(s.key) == action]

    def task_file(self, step: Step) -> str | None:
        """The task file the play runs for `step` on this host: None for a step this host
        leaves out, or a verify its role has no tasks for."""
        action = self.actions.get(step.key)
        if action == "verify" and step.role in self.nothing_to_verify:
            return None
        return action

    def changed_left_out(self) -> list[str]:
        """The roles this run leaves out (`--only`) although what they install changed
        since the last deploy: their files stay pending until a deploy converges them."""
        running = {s.role for s in self.steps if s.key in self.actions}
        changed = [
            s.role for s in self.steps if self.recorded.get(s.key) != self.digests.get(s.key)
        ]
        return [role for role in dict.fromkeys(changed) if role not in running]


def known_components(playbooks: Path | None = None) -> list[str]:
    """Every component the play knows: one role directory each."""
    roles = (playbooks or data_dir("playbooks")) / "roles"
    return sorted(p.name for p in roles.iterdir() if (p / "tasks" / "converge.yml").is_file())


def check_only(only: Iterable[str], playbooks: Path | None = None) -> list[str]:
    """``--only`` names known components (one-line InputError otherwise)."""
    names = list(dict.fromkeys(only))
    known = known_components(playbooks)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(
            f"--only {', '.join(map(given, unknown))}: unknown component; known: {', '.join(known)}"
        )
    return names


# -- the plan of one host ---------------------------------------------------------------


def host_steps(role_vars: Mapping[str, Any]) -> list[Step]:
    """The ordered steps of a host's build (``wmx_roles`` in vars.json)."""
    declared = role_vars.get("wmx_roles")
    if not isinstance(declared, list):
        raise WmxError("vars.json has no wmx_roles (a build of an older wmx); run `wmx render`")
    steps = [Step(str(s["role"]), str(s["action"])) for s in declared]
    if len({s.key for s in steps}) != len(steps):
        raise WmxError("vars.json: wmx_roles names a step twice; run `wmx render` again")
    return steps


def files_by_role(manifest: Sequence[Mapping[str, Any]], roles: set[str]) -> dict[str, list[Any]]:
    """The manifest's entries grouped by the role that installs them (its component's)."""
    grouped: dict[str, list[Any]] = {role: [] for role in sorted(roles)}
    for entry in manifest:
        grouped.setdefault(str(entry["component"]), []).append(dict(entry))
    return grouped


def vars_by_role(role_vars: Mapping[str, Any], roles: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Role vars by owner: ``<role>_…`` belongs to the role with the longest such prefix;
    the rest (``acme_email``, ``wmx_components``) is shared, under ``""``."""
    prefixes = sorted(roles, key=len, reverse=True)
    grouped: dict[str, dict[str, Any]] = {"": {}}
    for name, value in role_vars.items():
        if name == "wmx_roles":
            continue  # the plan itself: each step's own inputs say what changed
        owner = next((r for r in prefixes if name.startswith(f"{r}_")), "")
        grouped.setdefault(owner, {})[name] = value
    return grouped


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _tree_digest(paths: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in paths if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class PlaybookDigests:
    """Digests of the play's own files: a new wmx with other tasks re-converges."""

    def __init__(self, playbooks: Path) -> None:
        self.root = playbooks
        self._roles: dict[str, str] = {}
        # The play's own files and the shared roles every component's role includes
        # (rendered_files, units, …): a change to one of those re-converges every step,
        # as a change to site.yml does. A component's role is its steps' own input.
        own = {("roles", component) for component in known_components(playbooks)}
        shared = [p for p in playbooks.rglob("*") if p.relative_to(playbooks).parts[:2] not in own]
        self.shared = _tree_digest(shared, playbooks)

    def role(self, name: str) -> str:
        if name not in self._roles:
            self._roles[name] = _tree_digest((self.root / "roles" / name).rglob("*"), self.root)
        return self._roles[name]


def step_digests(
    steps: Sequence[Step],
    role_vars: Mapping[str, Any],
    files: Mapping[str, Sequence[Mapping[str, Any]]],
    playbooks: PlaybookDigests,
) -> dict[str, str]:
    roles = {s.role for s in steps}
    owned = vars_by_role(role_vars, roles)
    digests: dict[str, str] = {}
    for step in steps:
        inputs: dict[str, object] = {
            "action": step.action,
            "tasks": playbooks.role(step.role),
            "play": playbooks.shared,
        }
        if step.action != "remove":
            inputs["files"] = sorted(files.get(step.role, []), key=lambda e: str(e["src"]))
            inputs["vars"] = owned.get(step.role, {})
            inputs["shared_vars"] = owned[""]
        digests[step.key] = _digest(inputs)
    return digests


def _converged_record(deployed_host: Path, key: str) -> dict[str, Any]:
    # Not wmx's record (cut short, a FIFO, a link out): every step converges.
    record = load_optional(deployed_host / STATE_DIR / CONVERGED_FILE, deployed_host.parent)
    part = record.get(key) if isinstance(record, dict) else None
    return part if isinstance(part, dict) else {}


def read_converged(deployed_host: Path) -> dict[str, str]:
    return {str(k): str(v) for k, v in _converged_record(deployed_host, "steps").items()}


def read_installed(deployed_host: Path) -> dict[str, list[str]]:
    """Role -> the paths of the rendered files its last converge installed. A stale one
    is deleted as root on the host, and the record is a file in the site: a path that
    is not absolute and normalised (the host's module refuses it too), or that is not
    one of the role's own templates (wmx.render.engine.component_owns), is never sent."""
    templates = data_dir("templates")
    return {
        str(role): [
            path for path in paths if host_path(path) and component_owns(templates, role, path)
        ]
        for role, paths in _converged_record(deployed_host, "files").items()
        if isinstance(paths, list)
    }


def host_path(path: object) -> bool:
    """An absolute, normalised path: the only kind wmx installs, removes or hashes on a host."""
    return isinstance(path, str) and path.startswith("/") and posixpath.normpath(path) == path


def stale_files(plan: HostPlan) -> dict[str, list[str]]:
    """Per converging role, the files its last converge installed that no role of this
    build installs any more: its rendered_files step removes them."""
    current = {str(entry["dest"]) for entry in plan.manifest}
    stale = {
        role: sorted(path for path in plan.installed.get(role, []) if path not in current)
        for role in plan.roles_doing("converge")
    }
    return {role: paths for role, paths in stale.items() if paths}


def choose_actions(
    steps: Sequence[Step],
    digests: Mapping[str, str],
    converged: Mapping[str, str],
    *,
    only: Sequence[str] = (),
    full: bool = False,
    redo: Collection[str] = (),
) -> dict[str, str]:
    """Step key -> task file to run. ``only`` keeps those components' steps, all run;
    the roles in ``redo`` run all their steps, as if changed (a file edited on the host)."""
    actions: dict[str, str] = {}
    verified: set[str] = set()
    for step in steps:
        if only and step.role not in only:
            continue
        unchanged = (
            not full
            and not only
            and step.role not in redo
            and converged.get(step.key) == digests[step.key]
        )
        if step.action == "converge" and unchanged:
            actions[step.key] = "verify"
            verified.add(step.role)
        elif not (step.action in FOLLOWERS and step.role in verified) and not (
            step.action == "remove" and unchanged
        ):
            actions[step.key] = step.action
    return actions


def plan_host(
    host: str,
    build_host: Path,
    deployed_host: Path,
    playbooks: PlaybookDigests,
    *,
    only: Sequence[str] = (),
    full: bool = False,
) -> HostPlan:
    try:
        role_vars = json.loads((build_host / STATE_DIR / "vars.json").read_text("utf-8"))
        manifest = json.loads((build_host / STATE_DIR / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise WmxError(f"build/{host} is missing or damaged ({error}); run `wmx render`") from None
    steps = host_steps(role_vars)
    files = files_by_role(manifest, {s.role for s in steps})
    digests = step_digests(steps, role_vars, files, playbooks)
    recorded = read_converged(deployed_host)
    actions = choose_actions(steps, digests, recorded, only=only, full=full)
    installed = read_installed(deployed_host)
    plan = HostPlan(host, steps, actions, digests, role_vars, manifest, files, recorded, installed)
    plan.nothing_to_verify = {
        s.role
        for s in steps
        if not (playbooks.root / "roles" / s.role / "tasks" / "verify.yml").is_file()
    }
    return plan


def shared_order(plans: Iterable[HostPlan]) -> list[Step]:
    """One order of every host's steps that keeps each host's own order and the order
    between hosts (wmx.components.step_rank: a step another host's step depends on, such
    as the backup job's key before the repository host authorizes it, comes first).

    The play walks it slot by slot, every host at once, so that a step never starts
    before an earlier step of the order finished on every host.
    """
    ranked: dict[Step, tuple[int, int, int, int]] = {}
    for plan in plans:
        previous: tuple[int, int, int, int] | None = None
        for step in plan.steps:
            try:
                rank = step_rank(step.role, step.action)
            except KeyError:
                raise WmxError(
                    f"{plan.host}: step {step.key} is no step of a component of this wmx "
                    "(run `wmx render`)"
                ) from None
            if previous is not None and rank < previous:
                raise WmxError(
                    f"{plan.host}: step {step.key} comes after a later step of another "
                    "host; the hosts' plans disagree on the order (run `wmx render`)"
                )
            previous = rank
            ranked[step] = rank
    return sorted(ranked, key=lambda step: ranked[step])


def play_order(plans: Collection[HostPlan]) -> list[Step]:
    """The order the play walks: the shared order less the steps no host runs a task file
    for (each slot costs the walk four tasks, about 0.1 s, and a deploy with nothing
    changed leaves out or only verifies half of its steps)."""
    return [step for step in shared_order(plans) if any(p.task_file(step) for p in plans)]


def play_vars(plan: HostPlan, order: Sequence[Step]) -> dict[str, Any]:
    """What site.yml loads for this host (all of it unsafe text)."""
    slots: list[dict[str, str] | None] = []
    for step in order:
        action = plan.task_file(step)
        slots.append({"role": step.role, "action": action} if action else None)
    return {
        **plan.role_vars,
        "wmx_files": plan.files,
        "wmx_files_stale": stale_files(plan),
        "wmx_plan": slots,
        "wmx_verify_units": plan.verify_units,
        "wmx_packages": plan.packages,
        "wmx_venv_roles": plan.venv_roles,
        "wmx_packages_done": plan.packages_done,
        # The walk has each later transaction installed before the slot given here for it.
        "wmx_packages_wait_slots": packages_wait_slots(plan, slots),
    }


def packages_wait_slots(plan: HostPlan, slots: Sequence[dict[str, str] | None]) -> list[int]:
    """For each later transaction (wmx.ops.deploy_packages), the slot before which the
    walk must have it installed: the first step of a role that needs it (one of its
    packages, or apt of its own, ``plan.packages_wait``), ``len(slots)`` for none. apt
    installs them one after the other, so a transaction is due no later than the next."""
    later = [t for t in plan.packages if t.get("later")]
    due: list[int] = []
    for transaction in later:
        names = set(transaction["names"])
        needing = {
            role
            for role, wanted in plan.packages_wait.items()
            if wanted is None or names & set(wanted)
        }
        due.append(
            next(
                (i for i, slot in enumerate(slots) if slot is not None and slot["role"] in needing),
                len(slots),
            )
        )
    for index in range(len(due) - 2, -1, -1):
        due[index] = min(due[index], due[index + 1])
    return due


def left_out_roles(plan: HostPlan) -> set[str]:
    """The roles of this host's build a run left out (``only``) that differ from their
    last converge: no step of theirs ran and one has another digest than the recorded.
    What their last deploy put on the host is still there (wmx.render.KeptRoles); a
    role left out as unchanged has the build's files anyway."""
    acting = {step.role for step in plan.steps if step.key in plan.actions}
    return {
        step.role
        for step in plan.steps
        if step.role not in acting and plan.recorded.get(step.key) != plan.digests[step.key]
    }


def kept_role_vars(
    plan: HostPlan, roles: Collection[str], recorded: Mapping[str, Any]
) -> dict[str, Any]:
    """The build's role vars, but those of `roles` (owned as vars_by_role says) as the
    last deploy recorded them (`recorded`, its vars.json): none when it had none."""
    owners = {step.role for step in plan.steps}
    built, before = vars_by_role(plan.role_vars, owners), vars_by_role(recorded, owners)
    merged = dict(plan.role_vars)
    for role in roles:
        for name in built.get(role, {}):
            del merged[name]
        merged.update(before.get(role, {}))
    return merged


def record_converged(deployed_host: Path, plan: HostPlan) -> None:
    """After a successful run: each step's digest, for the steps this host still has.

    A step that ran records its digest; one left out keeps what it had (a step left
    out as unchanged had this very digest; one left out by ``only`` did not run).
    """
    before = plan.recorded
    steps = {
        step.key: plan.digests[step.key] if step.key in plan.actions else before[step.key]
        for step in plan.steps
        if step.key in plan.actions or step.key in before
    }
    # The files each role installed: a converge that ran installed its build's (and
    # removed its stale ones); a role that did not converge keeps its record.
    converged = set(plan.roles_doing("converge"))
    files = {
        role: [str(e["dest"]) for e in plan.files.get(role, [])]
        if role in converged
        else plan.installed[role]
        for role in {s.role for s in plan.steps if s.action == "converge"}
        if role in converged or role in plan.installed
    }
    path = deployed_host / STATE_DIR / CONVERGED_FILE
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = {"steps": steps, "files": files}
    write_state(path, json.dumps(record, indent=2, sort_keys=True) + "\n", 0o600)
