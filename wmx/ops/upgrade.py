"""`wmx upgrade apply` and `rollback`: switch Synapse's release with a way back.

apply: plan (refused when a check fails) → the canary account made ready → a fresh
backup (when backups are on) → a pg_dump named after the upgrade on the database host →
the new release installed into its own venv beside the running one (Synapse keeps
serving) → stop, switch the `current` link, start → the health gate
(wmx.ops.upgrade_gate). With workers, every host that runs one gets the release and the
switch too, workers stopped before the main process and started after its gate
(wmx.ops.upgrade_workers). A failed gate rolls back by itself: the previous link, the
database restored from the dump when the new schema passed what the old release reads
(wmx.ops.upgrade_plan.database_rule), start, gate again; the run fails naming the check.
wmx.yaml then records the release that runs, and the run is recorded under
.wmx/upgrades/ (`last.json` for `wmx status`).
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from wmx.admin.account import reach_synapse, sign_in
from wmx.admin.client import SynapseAdmin
from wmx.components.synapse import SYNAPSE_CURRENT_LINK
from wmx.errors import InputError, WmxError
from wmx.ops import upgrade_host
from wmx.ops.upgrade_gate import (
    CANARY_LOCALPART,
    Canary,
    GateTarget,
    Probe,
    Verdict,
    decide,
    run_gate,
)
from wmx.ops.upgrade_host import venv_of
from wmx.ops.upgrade_plan import Check, UpgradePlan, plan_upgrade
from wmx.ops.upgrade_record import DUMP_DIR, UpgradeRecord, last_of, state_dir
from wmx.ops.upgrade_release import PyPI
from wmx.ops.upgrade_workers import (
    after_gate,
    before_switch,
    before_switch_back,
    install,
    synapse_hosts,
)
from wmx.site import Site
from wmx.site.config_edit import set_value
from wmx.site.state_files import load_optional, write_state

UNIT = "matrix-synapse.service"
DATABASE = "synapse"
GATE_TIMEOUT = 300.0  # seconds: the first start on a new release migrates the schema
Say = Callable[[str], None]


class UpgradeFailed(WmxError):
    """The gate failed (rolled back or not): exit status 1 with what failed."""

    exit_code = 1


def pypi_for(site: Site) -> PyPI:
    return PyPI(site.paths.state / "cache")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- host steps --------------------------------------------------------------------


def switch_script(version: str) -> str:
    """Stop, point `current` at the release (rename(2): atomic), start."""
    venv = venv_of(version)
    return (
        f"set -e; test -x {venv}/bin/python; systemctl stop {UNIT}; "
        f"ln -sfn {venv} {SYNAPSE_CURRENT_LINK}.wmx-new; "
        f"mv -T {SYNAPSE_CURRENT_LINK}.wmx-new {SYNAPSE_CURRENT_LINK}; "
        # The unit is Type=notify: a blocking start would wait for the migrations (and
        # fail outright on a release that cannot start); the gate decides instead.
        f"systemctl start --no-block {UNIT}"
    )


def dump_script(name: str, dump_dir: str = DUMP_DIR) -> str:
    path = f"{dump_dir}/{name}.dump"
    return (
        f"set -e; install -d -m 0700 -o postgres -g postgres {dump_dir}; "
        f"runuser -u postgres -- pg_dump -Fc -f {path} {DATABASE}; echo {path}"
    )


def restore_script(path: str) -> str:
    """Replace the database with the dump (Synapse is stopped): drop, create as wmx
    does (C collation from template0), restore."""
    quoted = shlex.quote(path)
    return (
        f"set -e; test -s {quoted}; "
        f"runuser -u postgres -- dropdb --if-exists --force {DATABASE}; "
        f"runuser -u postgres -- createdb -O synapse -T template0 -E UTF8 "
        f"--lc-collate=C --lc-ctype=C {DATABASE}; "
        f"runuser -u postgres -- pg_restore --exit-on-error -d {DATABASE} {quoted}"
    )


# --- the canary --------------------------------------------------------------------


def ready_canary(site: Site) -> Canary:
    """The canary account with its password from secrets.yml (generated there, set on the
    account through the Admin API before each gate), and its room (made once; its id
    kept in .wmx/)."""
    password = site.secrets.upgrade_canary_password
    user_id = f"@{CANARY_LOCALPART}:{site.config.server_name}"
    room_file = state_dir(site) / "canary.json"
    room_id = _recorded_room(room_file)
    with reach_synapse(site) as base_url:
        admin = SynapseAdmin(base_url, "", server_name=site.config.server_name)
        with admin:
            sign_in(admin, site)
            admin.users.put(
                user_id,
                {"password": password, "displayname": "wmx upgrade canary", "logout_devices": True},
            )
            # A room recorded for another database (the site redeployed afresh) is not
            # the canary's: make a new one rather than fail every gate.
            if room_id is not None and room_id not in admin.users.joined_rooms(user_id):
                room_id = None
        if room_id is None:
            try:
                room_id = _create_canary_room(base_url, password)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                raise WmxError(f"the canary's room could not be made: {exc}") from None
            write_state(room_file, json.dumps({"room_id": room_id}) + "\n")
    return Canary(CANARY_LOCALPART, password, room_id)


def _recorded_room(room_file: Path) -> str | None:
    """The canary's room id kept in .wmx/ (None: none, or a file that is not wmx's record,
    such as one cut short: a new room is made then)."""
    data = load_optional(room_file, room_file.parent.parent.parent)
    room_id = data.get("room_id") if isinstance(data, dict) else None
    return room_id if isinstance(room_id, str) and room_id.startswith("!") else None


def _create_canary_room(base_url: str, password: str) -> str:
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        login = client.post(
            "/_matrix/client/v3/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": CANARY_LOCALPART},
                "password": password,
            },
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        made = client.post(
            "/_matrix/client/v3/createRoom",
            json={"name": "wmx upgrade canary", "preset": "private_chat", "visibility": "private"},
            headers=headers,
        )
        made.raise_for_status()
        client.post("/_matrix/client/v3/logout", headers=headers)
        return str(made.json()["room_id"])


def gate(site: Site, version: str, canary: Canary, timeout: float) -> Verdict:
    federation = bool(site.config.homeserver.federation)
    with ExitStack() as stack:
        base_url = stack.enter_context(reach_synapse(site))
        irc_ping = None
        if site.topology.first_in("irc_bridge") is not None:
            from wmx.components.irc_bridge import APPSERVICE_ID
            from wmx.irc.health import ping

            token = site.secrets.irc_bridge_as_token

            def irc_ping() -> tuple[bool, str]:
                return ping(base_url, token, APPSERVICE_ID)

        target = GateTarget(base_url, version, federation, canary, irc_ping)
        monitoring = site.topology.first_in("monitoring")
        if monitoring is not None:
            from wmx.components.monitoring import PROMETHEUS_PORT, SYNAPSE_MAIN_JOB
            from wmx.ssh import port_tunnel

            settings = site.config.monitoring
            target.prometheus = stack.enter_context(port_tunnel(monitoring, PROMETHEUS_PORT))
            target.synapse_job = SYNAPSE_MAIN_JOB
            target.monitoring_wait = 2.0 * settings.scrape_interval + 15.0
            if settings.remote_scrape.allow:
                # Prometheus then asks everyone for the password, its own host included.
                target.prometheus_auth = httpx.BasicAuth(
                    settings.remote_scrape.user, site.secrets.prometheus_remote_password
                )
        return run_gate(target, timeout)


def _switch_and_gate(
    site: Site, version: str, canary: Canary, timeout: float
) -> tuple[Verdict, float, float]:
    """(verdict, seconds from the start until /health answered — the migrations —, and
    seconds from the stop until then — the outage). Workers: stopped first on every
    host, started once the main process passed (wmx.ops.upgrade_workers)."""

    host = site.topology.the("homeserver")
    stopped = time.monotonic()
    try:
        before_switch(site, version)
        upgrade_host.remote(host, switch_script(version), timeout=180)
    except WmxError as exc:
        return decide([Probe("switch", False, str(exc))]), 0.0, time.monotonic() - stopped
    switched = time.monotonic() - stopped
    verdict = after_gate(site, version, gate_after_start(site, version, canary, timeout), timeout)
    ready = verdict.ready_s if verdict.ready_s is not None else time.monotonic() - stopped
    return verdict, ready, switched + ready


def gate_after_start(site: Site, version: str, canary: Canary, timeout: float) -> Verdict:
    # The tunnel is opened once Synapse's unit started; /health is polled inside.
    for _attempt in range(3):
        try:
            return gate(site, version, canary, timeout)
        except WmxError:
            time.sleep(2)
    return gate(site, version, canary, timeout)


def _go_back(
    site: Site, record: UpgradeRecord, old: str, canary: Canary, restore: bool, say: Say
) -> Verdict:

    homeserver = site.topology.the("homeserver")
    database = site.topology.the("database")
    # Every host's workers stopped, worker hosts' links back (an unreached one named).
    unreached = before_switch_back(site, old, restore)
    if restore:
        if not record.dump:
            raise WmxError("the database must be restored but no pre-upgrade dump is known")
        say(f"stopping Synapse and restoring the database from {record.dump}")
        upgrade_host.remote(homeserver, f"systemctl stop {UNIT}", timeout=180)
        upgrade_host.remote(database, restore_script(record.dump), timeout=3600)
        record.database_restored = True
    say(f"switching back to Synapse {old}")
    upgrade_host.remote(homeserver, switch_script(old), timeout=180)
    verdict = after_gate(site, old, gate_after_start(site, old, canary, GATE_TIMEOUT), GATE_TIMEOUT)
    return verdict if unreached is None else decide([*verdict.probes, unreached], verdict.ready_s)


def refuse_failed(checks: list[Check]) -> None:
    """A plan with a failed check changes nothing."""
    bad = "; ".join(f"{c.host}: {c.detail}" for c in checks if not c.ok)
    if bad:
        raise InputError(f"the plan's checks fail: {bad}")


def apply_upgrade(
    site: Site, to: str | None, say: Say, *, gate_timeout: float = GATE_TIMEOUT
) -> UpgradeRecord:
    with pypi_for(site) as pypi:
        plan = plan_upgrade(site, pypi, to)
    return apply_plan(site, plan, say, gate_timeout=gate_timeout)


def apply_plan(
    site: Site,
    plan: UpgradePlan,
    say: Say,
    *,
    gate_timeout: float = GATE_TIMEOUT,
    backup: bool = True,
) -> UpgradeRecord:
    """The upgrade along `plan`; `backup=False` leaves out the fresh backup (a rehearsal's
    copy, itself restored from one, keeps only the dump)."""
    refuse_failed(plan.checks)
    if site.config.login.sul_only:
        # The gate's canary logs in with a password, which SUL-only mode refuses: every
        # upgrade would fail its gate and roll back.
        raise InputError(
            "login.sul_only refuses password logins, and the upgrade's canary logs in with "
            "one: upgrade such a site with `wmx deploy` for now (docs/upgrade.md)"
        )
    old = plan.running
    if old is None:
        raise WmxError("the homeserver's current link points at no release: deploy first")
    if old == plan.target:
        raise InputError(f"the homeserver already runs Synapse {old}")
    name = f"synapse-{old}-to-{plan.target}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    record = UpgradeRecord("apply", "synapse", old, plan.target, _now(), plan.database_rule)
    say("making the canary account ready")
    canary = ready_canary(site)
    if backup and site.config.backup.enabled:
        from wmx.backup.operations import data_host, run_backup
        from wmx.backup.progress import QuietSteps

        say("taking a fresh backup")
        label = f"before-synapse-{old}-to-{plan.target}"
        outcome = run_backup(data_host(site), QuietSteps(), label=label)
        if not outcome.ok:
            raise WmxError(f"the fresh backup failed: {outcome.run.get('error')}; nothing changed")
        record.backup_archive = str(outcome.run.get("archive"))
    say(f"dumping the database ({name})")
    record.dump = upgrade_host.remote(
        site.topology.the("database"), dump_script(name), 3600
    ).strip()
    record.save(site)

    where = ", ".join(h.host.name for h in synapse_hosts(site))
    say(f"installing Synapse {plan.target} beside {old} on {where} (Synapse keeps serving)")
    install(site, plan.target)
    say(f"switching to Synapse {plan.target} and running the health gate")
    verdict, migration, outage = _switch_and_gate(site, plan.target, canary, gate_timeout)
    record.migration_s, record.outage_s = round(migration, 1), round(outage, 1)
    if verdict.ok:
        set_value(site.paths, "synapse.version", plan.target, deployed=True)
        record.status, record.finished, record.detail = "applied", _now(), verdict.summary()
        record.save(site)
        return record
    record.failed = list(verdict.failed)
    record.detail = verdict.summary()
    say(f"the gate failed ({record.detail}): rolling back")
    try:
        back = _go_back(site, record, old, canary, plan.needs_dump, say)
    except WmxError as exc:
        record.status, record.finished = "failed", _now()
        record.detail += f"; the rollback failed: {exc}"
        record.save(site)
        raise UpgradeFailed(
            f"Synapse {plan.target} failed the gate and the rollback to {old} failed: {exc} "
            f"(the pre-upgrade dump: {record.dump})"
        ) from None
    record.finished = _now()
    record.status = "rolled-back" if back.ok else "failed"
    record.save(site)
    where = (
        f"rolled back to {old}"
        if back.ok
        else f"and the rollback's gate failed too: {back.summary()}"
    )
    raise UpgradeFailed(f"Synapse {plan.target} failed the gate ({record.detail}); {where}")


@dataclass(frozen=True)
class RollbackPlan:
    record: dict[str, Any]
    to_version: str
    from_version: str
    restore: bool

    def loss(self) -> str:
        if not self.restore:
            return "nothing: the old release reads the database as it is"
        return (
            f"everything written since {self.record.get('started')} (messages, accounts, "
            f"media records): the database goes back to the dump {self.record.get('dump')}"
        )


def plan_rollback(site: Site) -> RollbackPlan:
    record = last_of(site, "synapse")
    if record is None or record.get("kind") != "apply" or record.get("status") != "applied":
        raise InputError("no applied upgrade of Synapse to roll back (see .wmx/upgrades/)")
    if record.get("from_version") is None:
        raise InputError("the last upgrade of Synapse names no release it started from")
    return RollbackPlan(
        record,
        to_version=str(record["from_version"]),
        from_version=str(record["to_version"]),
        restore=record.get("database_rule") == "dump",
    )


def rollback(site: Site, plan: RollbackPlan, say: Say) -> UpgradeRecord:
    record = UpgradeRecord(
        "rollback",
        "synapse",
        plan.from_version,
        plan.to_version,
        _now(),
        "dump" if plan.restore else "keeps",
        dump=plan.record.get("dump"),
    )
    canary = ready_canary(site)
    started = time.monotonic()
    try:
        verdict = _go_back(site, record, plan.to_version, canary, plan.restore, say)
    except WmxError as exc:
        record.status, record.finished, record.detail = "failed", _now(), str(exc)
        record.save(site)
        dump = f" (the pre-upgrade dump: {record.dump})" if record.dump else ""
        raise UpgradeFailed(f"the rollback to {plan.to_version} failed: {exc}{dump}") from None
    record.outage_s = round(time.monotonic() - started, 1)
    record.finished, record.detail = _now(), verdict.summary()
    if not verdict.ok:
        record.status, record.failed = "failed", list(verdict.failed)
        record.save(site)
        raise UpgradeFailed(f"back on {plan.to_version}, but the gate failed: {record.detail}")
    set_value(site.paths, "synapse.version", plan.to_version, deployed=True)
    record.status = "rolled-back-by-hand"
    record.save(site)
    return record
