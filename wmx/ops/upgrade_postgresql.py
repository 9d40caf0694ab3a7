"""`wmx upgrade postgresql`: move the database host's cluster to the PostgreSQL major
version its Debian release ships (wmx/debian.py), with Debian's own pg_upgradecluster.

plan: read the host's clusters (`pg_lsclusters`) and release; the cluster that serves
PostgreSQL's port (5432, where Synapse connects) is the one that moves. apply: a fresh
backup (when backups are on) → the empty cluster Debian created for the new version at
install time dropped (refused if it holds a database of its own) → Synapse stopped →
`pg_upgradecluster` (the new cluster takes the port, the collation and encoding of the
old one and its configuration, wmx's tuning link included) → the old cluster kept,
stopped and set to start by hand → the new cluster's databases checked (Synapse's
collation and ctype unchanged) → Synapse started and checked (it answers, with the same
signing key). `wmx upgrade postgresql --drop-old` removes the old cluster later, as a
separate decision.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from wmx.components.postgresql import POSTGRES_PORT
from wmx.debian import RELEASES
from wmx.errors import InputError, WmxError
from wmx.ops.upgrade import DATABASE, UNIT
from wmx.ops.upgrade_host import remote
from wmx.site import Site

Say = Callable[[str], None]
CLUSTER = "main"  # the cluster Debian creates, the one wmx's postgresql role uses

PROBE = (
    "pg_lsclusters --no-header; "
    ". /etc/os-release; echo codename=$VERSION_CODENAME; "
    # The major versions whose server is installed (what pg_upgradecluster can move to).
    "ls /usr/lib/postgresql 2>/dev/null | sed 's/^/installed=/'"
)


@dataclass(frozen=True)
class Cluster:
    version: str
    name: str
    port: int
    online: bool


@dataclass(frozen=True)
class PostgresqlPlan:
    host: str
    release: str  # the host's Debian codename
    current: Cluster  # the cluster on POSTGRES_PORT
    target: str  # the major version the release ships
    installed: tuple[str, ...]
    clusters: tuple[Cluster, ...]

    @property
    def needed(self) -> bool:
        return self.current.version != self.target

    @property
    def in_the_way(self) -> Cluster | None:
        """The cluster of the target version already there (Debian creates an empty one
        when the new server is installed), which pg_upgradecluster needs gone."""
        return next(
            (c for c in self.clusters if c.version == self.target and c.name == CLUSTER), None
        )

    @property
    def old(self) -> tuple[Cluster, ...]:
        """Clusters named main of an older version than the current one (kept by earlier
        upgrades; `--drop-old` removes them)."""
        return tuple(
            c
            for c in self.clusters
            if c.name == CLUSTER and _major(c.version) < _major(self.current.version)
        )


def _major(version: str) -> float:
    return float(version)


def parse_clusters(text: str) -> list[Cluster]:
    """`pg_lsclusters --no-header` lines: version, cluster, port, status, owner, data, log."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or not fields[0].replace(".", "").isdigit() or not fields[2].isdigit():
            continue
        found.append(Cluster(fields[0], fields[1], int(fields[2]), fields[3].startswith("online")))
    return found


def parse_probe(host: str, text: str) -> PostgresqlPlan:
    lines = text.splitlines()
    codename = next((ln.split("=", 1)[1] for ln in lines if ln.startswith("codename=")), "")
    installed = tuple(ln.split("=", 1)[1] for ln in lines if ln.startswith("installed="))
    clusters = parse_clusters(
        "\n".join(ln for ln in lines if not ln.startswith(("codename=", "installed=")))
    )
    release = RELEASES.get(codename)
    if release is None:
        known = ", ".join(RELEASES)
        raise WmxError(f"{host} runs Debian {codename or '(unknown)'}; wmx knows {known}")
    current = next((c for c in clusters if c.port == POSTGRES_PORT), None)
    if current is None:
        raise WmxError(
            f"{host}: no PostgreSQL cluster serves port {POSTGRES_PORT} (pg_lsclusters: "
            f"{', '.join(f'{c.version}/{c.name}:{c.port}' for c in clusters) or 'none'})"
        )
    return PostgresqlPlan(host, codename, current, release.postgresql, installed, tuple(clusters))


def plan_postgresql(site: Site) -> PostgresqlPlan:
    host = site.topology.the("database")
    return parse_probe(host.name, remote(host, PROBE, timeout=120))


# --- host steps (shell run over SSH; every value is wmx's own or a checked version) ----


def _psql(version: str, sql: str) -> str:
    return f"runuser -u postgres -- psql --cluster {version}/{CLUSTER} -XAtq -c {shlex.quote(sql)}"


def collation_script(version: str) -> str:
    sql = f"SELECT datcollate || ' ' || datctype FROM pg_database WHERE datname = '{DATABASE}'"
    return _psql(version, sql)


def drop_empty_script(version: str) -> str:
    """Drop the target version's cluster, only while it holds no database of its own."""
    sql = (
        "SELECT count(*) FROM pg_database "
        "WHERE datname NOT IN ('postgres', 'template0', 'template1')"
    )
    return (
        "set -eu\n"
        f"n=$({_psql(version, sql)})\n"
        f'if [ "$n" != 0 ]; then echo "PostgreSQL {version}/{CLUSTER} holds $n database(s) '
        f'of its own: not dropping it" >&2; exit 3; fi\n'
        f"pg_dropcluster --stop {version} {CLUSTER}\n"
    )


def upgrade_script(old: str, new: str) -> str:
    """pg_upgradecluster (pg_upgrade's copy mode: the old data directory is left as it
    was), then the old cluster kept stopped and started only by hand."""
    return (
        "set -eu\n"
        "export DEBIAN_FRONTEND=noninteractive\n"
        f"pg_upgradecluster --method=upgrade -v {new} {old} {CLUSTER}\n"
        f"pg_ctlcluster {old} {CLUSTER} stop 2>/dev/null || true\n"
        f"echo manual > /etc/postgresql/{old}/{CLUSTER}/start.conf\n"
        f"systemctl enable postgresql@{new}-{CLUSTER}.service\n"
        f"systemctl start postgresql@{new}-{CLUSTER}.service\n"
    )


def drop_old_script(version: str) -> str:
    """Drop the old cluster; then, with no cluster of that version left, its server and
    client packages (kept installed by `wmx upgrade os` for pg_upgradecluster) and the
    libraries only they needed."""
    return (
        "set -eu\n"
        f"pg_dropcluster --stop {version} {CLUSTER}\n"
        f"if ! pg_lsclusters --no-header | awk '{{print $1}}' | grep -qx {version}; then\n"
        "  DEBIAN_FRONTEND=noninteractive apt-get -y -q purge "
        f"postgresql-{version} postgresql-client-{version}\n"
        # What only the old server needed (the old release's ICU and LLVM libraries).
        "  DEBIAN_FRONTEND=noninteractive apt-get -y -q autoremove --purge\n"
        "fi\n"
    )


def apply_postgresql(
    site: Site, plan: PostgresqlPlan, say: Say, *, in_os_upgrade: bool = False
) -> str:
    """Move the cluster to ``plan.target``; returns a one-line summary.

    ``in_os_upgrade``: part of `wmx upgrade os`, just after the reboot, when Synapse
    cannot run (its venv's Python went with the old release) and a backup was taken
    before the package upgrade: no backup and no Synapse check here; the converge that
    follows rebuilds and starts Synapse, and `wmx upgrade os` checks it and its keys."""
    if not plan.needed:
        raise InputError(
            f"{plan.host} already runs PostgreSQL {plan.current.version}, the version Debian "
            f"{plan.release} ships"
        )
    if plan.target not in plan.installed:
        raise InputError(
            f"{plan.host}: PostgreSQL {plan.target}'s server is not installed; run `wmx deploy` "
            f"first (it installs the release's postgresql package)"
        )
    db = site.topology.the("database")
    homeservers = site.topology.in_group("homeserver")
    old, new = plan.current.version, plan.target
    before = remote(db, collation_script(old), timeout=120).strip()
    keys = None if in_os_upgrade else _published_keys(site)
    if site.config.backup.enabled and not in_os_upgrade:
        from wmx.backup.operations import data_host, run_backup
        from wmx.backup.progress import QuietSteps

        say("taking a fresh backup")
        outcome = run_backup(data_host(site), QuietSteps(), label=f"before-postgresql-{new}")
        if not outcome.ok:
            raise WmxError(f"the fresh backup failed: {outcome.run.get('error')}; nothing changed")
    if plan.in_the_way is not None:
        say(f"dropping the empty PostgreSQL {new} cluster Debian created at install time")
        remote(db, drop_empty_script(new), timeout=300)
    say("stopping Synapse for the switch")
    for host in homeservers:
        remote(host, f"systemctl stop {UNIT}", timeout=300)
    try:
        say(f"pg_upgradecluster {old} → {new} (the old cluster stays, stopped)")
        remote(db, upgrade_script(old, new), timeout=7200)
        after = remote(db, collation_script(new), timeout=120).strip()
        if after != before:
            raise WmxError(
                f"{db.name}: Synapse's database has collation/ctype {after!r} on PostgreSQL "
                f"{new}, {before!r} before; the old cluster {old}/{CLUSTER} is untouched"
            )
    except WmxError as exc:
        raise _stopped(plan, exc) from None
    if in_os_upgrade:
        return (
            f"{db.name}: PostgreSQL {old} → {new}; the old cluster {old}/{CLUSTER} is kept, "
            "stopped (remove it with `wmx upgrade postgresql --drop-old`)"
        )
    say("starting Synapse on the new cluster")
    for host in homeservers:
        remote(host, f"systemctl start {UNIT}", timeout=300)
    if _synapse_back(site) != keys:
        raise WmxError(f"Synapse answers on PostgreSQL {new} with other signing keys than before")
    return (
        f"{db.name}: PostgreSQL {old} → {new}; Synapse answers; the old cluster {old}/{CLUSTER} "
        f"is kept, stopped (remove it with `wmx upgrade postgresql --drop-old`)"
    )


def _stopped(plan: PostgresqlPlan, exc: WmxError) -> WmxError:
    return WmxError(
        f"the PostgreSQL upgrade on {plan.host} stopped: {exc}. Synapse is stopped; "
        f"`pg_lsclusters` on {plan.host} shows the clusters (the old one, "
        f"{plan.current.version}/{CLUSTER}, is never modified by pg_upgradecluster)"
    )


def _published_keys(site: Site) -> dict[str, str] | None:
    from wmx.backup.restore import published_keys

    return published_keys(site.topology.the("homeserver"))


def _synapse_back(site: Site, timeout: float = 300.0) -> dict[str, str] | None:
    """Wait until Synapse answers a request that reads the database (whoami looks up the
    admin's access token); its signing keys then."""
    from wmx.admin.account import admin_session

    deadline = time.monotonic() + timeout
    while True:
        try:
            with admin_session(site) as admin:
                admin.whoami()
            return _published_keys(site)
        except (WmxError, httpx.HTTPError) as exc:
            if time.monotonic() > deadline:
                raise WmxError(
                    f"Synapse did not answer on the new cluster within {int(timeout)} s: {exc}"
                ) from None
            time.sleep(3)


def drop_old(site: Site, plan: PostgresqlPlan, say: Say) -> list[str]:
    """Remove the clusters a previous upgrade kept; the one serving the port stays."""
    if not plan.old:
        raise InputError(f"{plan.host} keeps no old PostgreSQL cluster")
    db = site.topology.the("database")
    dropped = []
    for cluster in plan.old:
        say(f"dropping PostgreSQL {cluster.version}/{cluster.name} (port {cluster.port})")
        remote(db, drop_old_script(cluster.version), timeout=600)
        dropped.append(f"{cluster.version}/{cluster.name}")
    return dropped


__all__ = [
    "Cluster",
    "PostgresqlPlan",
    "apply_postgresql",
    "drop_old",
    "parse_clusters",
    "parse_probe",
    "plan_postgresql",
]
