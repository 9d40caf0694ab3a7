"""`wmx upgrade plan`: where Synapse is, where it would go, and what the way needs.

The decisions are pure functions of facts (tests/unit/test_upgrade_plan.py):
- `python_check`: the target's Requires-Python against each homeserver host's python3;
- `postgres_check`: the target's oldest PostgreSQL against the database host's server;
- `database_rule`: going back keeps the database when the old release can read what the
  new one wrote — Synapse's rule: a database at schema version S with compat version C
  runs under code whose SCHEMA_VERSION ≥ C. So after the upgrade, the old release reads
  it unless the new release's SCHEMA_COMPAT_VERSION > the old release's SCHEMA_VERSION;
  then only the pre-upgrade dump takes the server back.
The facts come from the hosts (over SSH: what runs) and from PyPI (wmx.ops.upgrade_release).
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass, field
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from wmx.components.synapse import SYNAPSE_CURRENT_LINK, SYNAPSE_VENVS_DIR
from wmx.errors import InputError, WmxError
from wmx.ops.upgrade_release import PyPI, ReleaseFacts, Schema, sort_key
from wmx.site import Site
from wmx.site.given import given
from wmx.site.releases import DEFAULT_SYNAPSE_VERSION
from wmx.site.topology import HostView
from wmx.ssh import connection
from wmx.ssh.unreachable import SSH_FAILED, Unreachable, unreachable

# The Synapse releases this wmx version was tested with (deploy, and upgrade between them).
TESTED_SYNAPSE = ("1.160.0", DEFAULT_SYNAPSE_VERSION)
SSH_TIMEOUT = 60


@dataclass(frozen=True)
class Check:
    host: str
    what: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HostFacts:
    host: str
    python: str | None = None  # the host's python3 (what a new venv is made with)
    running: str | None = None  # the release the current link points at
    installed: tuple[str, ...] = ()  # releases with a venv
    postgres: int | None = None  # the database server's major version
    error: str | None = None
    reached: bool = True  # False: SSH did not reach the host (error says why)


@dataclass
class UpgradePlan:
    configured: str  # synapse.version in wmx.yaml
    running: str | None  # what the homeserver's current link points at
    target: str
    latest: str
    tested: tuple[str, ...]
    requires_python: str | None
    postgres_min: int | None
    schema_from: Schema | None
    schema_to: Schema
    database_rule: str  # "keeps" or "dump"
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Host → the Synapse workers it runs (docs/workers.md): each gets the release and
    # the switch with the main process.
    worker_hosts: dict[str, list[str]] = field(default_factory=dict)
    # Host → why SSH did not reach it: the other parts' plans do not try it again.
    unreached: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def needs_dump(self) -> bool:
        return self.database_rule == "dump"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["tested"] = list(self.tested)
        return data


def python_check(host: str, requires: str | None, python: str | None) -> Check:
    if python is None:
        return Check(host, "python", False, "the host's python3 version could not be read")
    if not requires:
        return Check(host, "python", True, f"Python {python}; the release states no bound")
    try:
        spec = SpecifierSet(requires)
    except InvalidSpecifier:
        return Check(host, "python", False, f"Requires-Python {requires!r} is not a specifier")
    ok = spec.contains(Version(python), prereleases=True)
    verdict = "meets" if ok else "does not meet"
    return Check(host, "python", ok, f"Python {python} {verdict} Requires-Python {requires}")


def postgres_check(host: str, minimum: int | None, server: int | None) -> Check:
    if server is None:
        return Check(host, "postgresql", False, "the server's version could not be read")
    if minimum is None:
        return Check(
            host, "postgresql", True, f"PostgreSQL {server}; the release states no minimum"
        )
    ok = server >= minimum
    verdict = "≥" if ok else "<"
    return Check(host, "postgresql", ok, f"PostgreSQL {server} {verdict} {minimum} (required)")


def database_rule(old: Schema | None, new: Schema) -> str:
    """ "keeps": the old release reads the upgraded database; "dump": it does not."""
    if old is None:
        return "dump"  # nothing known of the running release: take the safe way
    return "dump" if new.compat > old.version else "keeps"


def direction_check(running: str | None, target: str) -> Check | None:
    if running is not None and sort_key(target) < sort_key(running):
        return Check(
            "-",
            "direction",
            False,
            f"{target} is older than the running {running}: going back is "
            "`wmx upgrade rollback` (or a restore), not an upgrade",
        )
    return None


def _run(host: HostView, script: str) -> str:
    argv = connection(host).command(["sh", "-c", script])
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=SSH_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise WmxError(f"{host.name}: no answer over SSH within {SSH_TIMEOUT} s") from None
    if done.returncode == SSH_FAILED:
        raise unreachable(host, done.stderr)
    if done.returncode != 0:
        cause = (done.stderr.strip().splitlines() or ["exit status " + str(done.returncode)])[-1]
        raise WmxError(f"{host.name}: {cause}")
    return done.stdout


HOMESERVER_FACTS = (
    "python3 -c 'import platform; print(platform.python_version())'; "
    f"readlink {SYNAPSE_CURRENT_LINK} || echo; "
    f"ls -1 {SYNAPSE_VENVS_DIR} 2>/dev/null | tr '\\n' ' '; echo"
)
DATABASE_FACTS = "runuser -u postgres -- psql -XtAc 'SHOW server_version_num'"


def parse_homeserver_facts(host: str, text: str) -> HostFacts:
    lines = [*text.splitlines(), "", "", ""]
    link = lines[1].strip()
    running = link.rsplit("/", 1)[-1] if link.startswith(SYNAPSE_VENVS_DIR + "/") else None
    return HostFacts(
        host=host,
        python=lines[0].strip() or None,
        running=running,
        installed=tuple(sorted(lines[2].split(), key=sort_key)),
    )


def homeserver_facts(host: HostView) -> HostFacts:
    try:
        return parse_homeserver_facts(host.name, _run(host, HOMESERVER_FACTS))
    except Unreachable as exc:
        return HostFacts(host=host.name, error=str(exc), reached=False)
    except WmxError as exc:
        return HostFacts(host=host.name, error=str(exc))


def database_facts(host: HostView) -> HostFacts:
    try:
        number = _run(host, DATABASE_FACTS).strip()
        return HostFacts(host=host.name, postgres=int(number) // 10000)
    except (WmxError, ValueError) as exc:
        return HostFacts(host=host.name, error=str(exc))


def make_plan(
    configured: str,
    target: str,
    latest: str,
    new: ReleaseFacts,
    old: ReleaseFacts | None,
    homeservers: list[HostFacts],
    database: HostFacts,
) -> UpgradePlan:
    """The plan from facts (no I/O)."""
    running = homeservers[0].running if homeservers else None
    plan = UpgradePlan(
        configured=configured,
        running=running,
        target=target,
        latest=latest,
        tested=TESTED_SYNAPSE,
        requires_python=new.requires_python,
        postgres_min=new.postgres_min,
        schema_from=old.schema if old else None,
        schema_to=new.schema,
        database_rule=database_rule(old.schema if old else None, new.schema),
    )
    direction = direction_check(running, target)
    if direction:
        plan.checks.append(direction)
    for facts in homeservers:
        if facts.error:
            plan.checks.append(Check(facts.host, "reach", False, facts.error))
            continue
        plan.checks.append(python_check(facts.host, new.requires_python, facts.python))
        if facts is not homeservers[0] and facts.running != running:
            plan.warnings.append(
                f"{facts.host} runs Synapse {facts.running} for its workers, the homeserver "
                f"{running}: the upgrade switches both to {target}"
            )
    if database.error:
        plan.checks.append(Check(database.host, "reach", False, database.error))
    else:
        plan.checks.append(postgres_check(database.host, new.postgres_min, database.postgres))
    if sort_key(latest) > sort_key(target):
        plan.warnings.append(f"PyPI has a newer release: {latest} (this plan goes to {target})")
    if target not in TESTED_SYNAPSE:
        plan.warnings.append(
            f"wmx was tested with Synapse {', '.join(TESTED_SYNAPSE)}, not {target}"
        )
    if running and running != configured:
        plan.warnings.append(
            f"the homeserver runs {running} but wmx.yaml says {configured} "
            "(a deploy would switch to wmx.yaml's)"
        )
    return plan


def published(pypi: PyPI, target: str) -> str:
    """`target`, a Synapse release PyPI has (an input error naming the newest otherwise)."""
    if target not in pypi.releases():
        raise InputError(
            f"--to {given(target)}: no such Synapse release on PyPI (newest: {pypi.latest()})"
        )
    return target


def plan_upgrade(site: Site, pypi: PyPI, to: str | None = None) -> UpgradePlan:
    """Read the hosts and PyPI, and decide."""
    configured = site.config.synapse.version
    target = published(pypi, to or DEFAULT_SYNAPSE_VERSION)
    latest = pypi.latest()
    from wmx.components.synapse_workers import plan_of

    workers = plan_of(site)
    main = site.topology.in_group("homeserver")
    # The hosts of the worker plan but the homeserver host: each runs Synapse too.
    others = [h for h in site.topology.hosts if h not in main and workers.on(h.name)]
    homeservers = [homeserver_facts(h) for h in [*main, *others]]
    unreached = {f.host: f.error or "" for f in homeservers if not f.reached}
    database_host = site.topology.the("database")
    if database_host.name in unreached:  # not tried again (ssh's timeout each time)
        database = HostFacts(database_host.name, error=unreached[database_host.name])
    else:
        database = database_facts(database_host)
    running = homeservers[0].running if homeservers else None
    new = pypi.facts(target)
    source = running or configured
    old = pypi.facts(source) if source in pypi.releases() else None
    plan = make_plan(configured, target, latest, new, old, homeservers, database)
    plan.unreached = unreached
    plan.worker_hosts = {
        h.name: [w.name for w in workers.on(h.name)] for h in [*main, *others] if workers.on(h.name)
    }
    return plan
