"""`wmx upgrade` on a site with workers on a host of their own (wmx.ops.upgrade_workers):
the order of the host steps, every host switched back when one fails, the worker check's
verdict and its script's reading of Synapse's metrics (the lab runs it for real:
tests/e2e/test_workers.py)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.render_sites import BASE_CONFIG, make_site
from wmx.components.synapse_workers import plan_of
from wmx.errors import WmxError
from wmx.ops import upgrade, upgrade_host, upgrade_record, upgrade_workers
from wmx.ops.upgrade_gate import Canary, Probe, decide
from wmx.ops.upgrade_plan import HostFacts, UpgradePlan
from wmx.ops.upgrade_release import ReleaseFacts, Schema
from wmx.resources import data_dir
from wmx.site import Site
from wmx.site.topology import HostView

OLD, NEW = "1.160.0", "1.163.2"


def _spread(tmp_path: Path) -> Site:
    """The e2e's layout: the database on db1, the main process on hs1, workers on wk1."""
    config = {**BASE_CONFIG, "synapse": {"workers": {"preset": "small"}}}
    hosts = [
        HostView("db1", "10.0.0.11", ("database",), 4096),
        HostView("hs1", "10.0.0.12", ("homeserver", "proxy"), 4096),
        HostView("wk1", "10.0.0.13", ("synapse_workers",), 4096),
    ]
    return make_site(tmp_path, config, hosts)


def _plan() -> UpgradePlan:
    return UpgradePlan(
        configured=OLD,
        running=OLD,
        target=NEW,
        latest=NEW,
        tested=(OLD, NEW),
        requires_python=None,
        postgres_min=None,
        schema_from=Schema(94, 84),
        schema_to=Schema(96, 84),
        database_rule="keeps",
    )


class Hosts:
    """Records each host step; the main gate passes; the workers run what the last
    switch pointed their host at, unless `broken` says otherwise."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, site: Site) -> None:
        self.site = site
        self.steps: list[tuple[str, str]] = []
        self.links: dict[str, str] = {"hs1": OLD, "wk1": OLD}
        self.fail_link: tuple[str, str] | None = None  # (host, version) whose switch fails
        self.broken: set[str] = set()  # versions whose workers do not start
        self.edits: list[tuple[str, str]] = []
        monkeypatch.setattr(upgrade_host, "remote", self.remote)
        monkeypatch.setattr(upgrade, "ready_canary", lambda site: Canary("c", "p", "!r"))
        monkeypatch.setattr(upgrade, "gate_after_start", self.gate)
        monkeypatch.setattr(upgrade, "set_value", self.set_value)
        monkeypatch.setattr(upgrade_workers, "host_rows", self.rows)
        monkeypatch.setattr(upgrade_workers, "WORKER_POLL", 0.0)

    def set_value(self, paths: Any, key: str, value: str, *, deployed: bool) -> None:
        self.edits.append((key, value))

    def remote(self, host: HostView, script: str, timeout: float = 0) -> str:
        kind = (
            "install"
            if "pip install" in script
            else "dump"
            if "pg_dump" in script
            else "stop-workers"
            if script.startswith("systemctl stop matrix-synapse-worker@")
            else "start-workers"
            if "systemctl start --no-block matrix-synapse-worker@" in script
            else "switch"
            if "mv -T" in script
            else script
        )
        if kind == "switch":
            version = script.split("/opt/synapse/venvs/", 1)[1].split("/", 1)[0]
            if self.fail_link == (host.name, version):
                raise WmxError(f"{host.name}: ln: No space left on device")
            self.links[host.name] = version
            kind = f"switch {version}"
        if kind == "install":
            # With workers: Redis's client libraries, txredisapi bounded as the role does.
            redis = ",redis]" in script and "'txredisapi<1.6.0'" in script
            kind = "install redis" if redis else "install"
        self.steps.append((host.name, kind))
        return "/var/backups/wmx-upgrade/x.dump\n" if kind == "dump" else ""

    def gate(self, site: Any, version: str, canary: Any, timeout: float) -> Any:
        self.steps.append(("hs1", f"main gate {version}"))
        return decide([Probe(n, True, "OK") for n in ("health", "client", "version", "canary")])

    def rows(self, host: HostView, workers: Any) -> list[dict[str, Any]]:
        version = self.links[host.name]
        state = "failed" if version in self.broken else "active"
        return [
            {"unit": w.unit, "state": state, "version": version, "health": "OK"} for w in workers
        ]

    def order(self) -> list[str]:
        """The steps without which-host detail for hosts run side by side."""
        return [f"{h} {s}" for h, s in self.steps]


def test_apply_upgrades_every_host_in_deploy_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _spread(tmp_path)
    hosts = Hosts(monkeypatch, site)
    record = upgrade.apply_plan(site, _plan(), lambda _t: None, backup=False)
    assert record.status == "applied" and hosts.links == {"hs1": NEW, "wk1": NEW}
    steps = hosts.order()
    # Installed on both hosts (with Redis's client libraries) before anything stops.
    installs = [s for s in steps if "install" in s]
    assert sorted(installs) == ["hs1 install redis", "wk1 install redis"]
    first_stop = min(steps.index(s) for s in steps if "stop-workers" in s)
    assert max(steps.index(s) for s in installs) < first_stop
    # Workers stopped on both hosts, the worker host switched, then the main process
    # switched (stop, link, start), its gate, then the workers started on both hosts.
    # (Hosts run side by side: each host's own steps are in order, not the two hosts'.)
    assert steps.index("wk1 stop-workers") < steps.index(f"wk1 switch {NEW}")
    assert steps.index("hs1 stop-workers") < steps.index(f"hs1 switch {NEW}")
    assert steps.index(f"wk1 switch {NEW}") < steps.index(f"hs1 switch {NEW}")
    assert steps.index(f"hs1 switch {NEW}") < steps.index(f"hs1 main gate {NEW}")
    starts = [steps.index("hs1 start-workers"), steps.index("wk1 start-workers")]
    assert min(starts) > steps.index(f"hs1 main gate {NEW}")
    assert ("synapse.version", NEW) in hosts.edits


def test_a_failed_switch_on_the_worker_host_switches_every_host_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _spread(tmp_path)
    hosts = Hosts(monkeypatch, site)
    hosts.fail_link = ("wk1", NEW)
    with pytest.raises(upgrade.UpgradeFailed, match=r"switch: wk1: ln: No space left"):
        upgrade.apply_plan(site, _plan(), lambda _t: None, backup=False)
    # The main process was never switched; both hosts run the old release, workers started.
    assert f"hs1 switch {NEW}" not in hosts.order()
    assert hosts.links == {"hs1": OLD, "wk1": OLD}
    tail = hosts.order()[hosts.order().index(f"hs1 switch {OLD}") :]
    assert {"hs1 start-workers", "wk1 start-workers"} <= set(tail)
    last = upgrade_record.last_record(site.paths.state)
    assert last is not None and last["status"] == "rolled-back"
    assert not hosts.edits  # wmx.yaml still names the old release


def test_workers_that_fail_on_the_new_release_roll_every_host_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _spread(tmp_path)
    hosts = Hosts(monkeypatch, site)
    hosts.broken = {NEW}
    with pytest.raises(upgrade.UpgradeFailed) as failed:
        upgrade.apply_plan(site, _plan(), lambda _t: None, backup=False, gate_timeout=0.1)
    assert "(workers: media1 on hs1: failed; sync1 on wk1: failed;" in str(failed.value)
    assert str(failed.value).endswith(f"rolled back to {OLD}")
    assert hosts.links == {"hs1": OLD, "wk1": OLD}
    last = upgrade_record.last_record(site.paths.state)
    assert last is not None and last["failed"] == ["workers"]


def _applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Site, Hosts]:
    """The spread site upgraded (every host on the new release), its steps forgotten."""
    site = _spread(tmp_path)
    hosts = Hosts(monkeypatch, site)
    upgrade.apply_plan(site, _plan(), lambda _t: None, backup=False)
    hosts.steps.clear()
    return site, hosts


def _cut_off(monkeypatch: pytest.MonkeyPatch, hosts: Hosts, name: str) -> None:
    """Host `name` unreachable from now on; the others answer as before."""
    reach = hosts.remote

    def remote(host: HostView, script: str, timeout: float = 0) -> str:
        if host.name == name:
            raise WmxError(f"{name}: ssh: connect to host {host.address} port 22: No route to host")
        return reach(host, script, timeout)

    monkeypatch.setattr(upgrade_host, "remote", remote)


def test_rollback_on_purpose_switches_every_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, hosts = _applied(tmp_path, monkeypatch)
    record = upgrade.rollback(site, upgrade.plan_rollback(site), lambda _t: None)
    assert record.status == "rolled-back-by-hand" and hosts.links == {"hs1": OLD, "wk1": OLD}
    steps = hosts.order()
    assert steps.index("wk1 stop-workers") < steps.index(f"hs1 switch {OLD}")
    assert steps.index(f"wk1 switch {OLD}") < steps.index(f"hs1 switch {OLD}")
    assert steps.index(f"hs1 main gate {OLD}") < steps.index("wk1 start-workers")


def test_a_rollback_that_cannot_reach_a_worker_host_still_switches_the_rest_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, hosts = _applied(tmp_path, monkeypatch)
    _cut_off(monkeypatch, hosts, "wk1")
    with pytest.raises(upgrade.UpgradeFailed, match="No route to host"):
        upgrade.rollback(site, upgrade.plan_rollback(site), lambda _t: None)
    # The main process and the homeserver host's workers are back on the old release.
    assert hosts.links == {"hs1": OLD, "wk1": NEW}
    assert "hs1 start-workers" in hosts.order()
    last = upgrade_record.last_record(site.paths.state)
    assert last is not None and last["kind"] == "rollback" and last["status"] == "failed"
    assert "switch" in last["failed"]


def test_a_rollback_that_must_restore_stops_before_it_when_a_worker_host_is_unreached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker not stopped may still write: no restore, no switch; the run names the
    host and the pre-upgrade dump, and is recorded as failed."""
    site, hosts = _applied(tmp_path, monkeypatch)
    _cut_off(monkeypatch, hosts, "wk1")
    plan = dataclasses.replace(upgrade.plan_rollback(site), restore=True)
    with pytest.raises(upgrade.UpgradeFailed) as failed:
        upgrade.rollback(site, plan, lambda _t: None)
    assert "wk1: ssh: connect" in str(failed.value)
    assert "(the pre-upgrade dump: /var/backups/wmx-upgrade/x.dump)" in str(failed.value)
    assert hosts.links == {"hs1": NEW, "wk1": NEW}
    assert not [s for s in hosts.order() if "restore" in s or "switch" in s]
    last = upgrade_record.last_record(site.paths.state)
    assert last is not None and last["kind"] == "rollback" and last["status"] == "failed"


def test_a_site_without_workers_touches_the_homeserver_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path,
        BASE_CONFIG,
        [HostView("hs1", "10.0.0.12", ("database", "homeserver", "proxy"), 2048)],
    )
    hosts = Hosts(monkeypatch, site)
    upgrade.apply_plan(site, _plan(), lambda _t: None, backup=False)
    assert [s for s in hosts.order() if "workers" in s] == []
    assert "hs1 install" in hosts.order()  # no Redis extra without workers


def test_judge_names_each_worker_that_fails() -> None:
    def row(unit: str, state: str = "active", version: str = NEW, health: Any = "OK") -> Any:
        return {"unit": f"matrix-synapse-worker@{unit}.service", "state": state,
                "version": version, "health": health}  # fmt: skip

    ok, detail = upgrade_workers.judge(
        {"wk1": [row("sync1"), row("background1", health=None)]}, NEW
    )
    assert ok and detail == f"2 workers on wk1 active and on {NEW}"
    ok, detail = upgrade_workers.judge(
        {
            "hs1": [row("media1", version=OLD)],
            "wk1": [
                row("sync1", state="activating"),
                row("client1", health="ConnectionRefusedError"),
            ],
        },
        NEW,
    )
    assert not ok
    assert detail == (
        f"media1 on hs1: reports {OLD} (expected {NEW}); sync1 on wk1: activating; "
        "client1 on wk1: /health ConnectionRefusedError"
    )


def test_a_worker_the_check_gives_no_row_for_fails_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No row (an empty list, or rows for other units) is no pass: judge only sees rows."""
    site = _spread(tmp_path)
    answers = iter(["[]\n", '{"unit": "x"}\n'])
    monkeypatch.setattr(upgrade_host, "remote", lambda host, script, timeout=0: next(answers))
    for _ in range(2):
        probe = upgrade_workers.workers_probe(site, NEW, 0.0, sleep=lambda _s: None)
        assert not probe.ok
        assert probe.detail.startswith("hs1: the worker check gave no row for ")
        assert "matrix-synapse-worker@media1.service" in probe.detail


METRICS = (
    "# HELP synapse_build_info Build information\n"
    "# TYPE synapse_build_info gauge\n"
    'synapse_build_info{osversion="Linux 6.1",pythonversion="CPython 3.13.5",'
    'rustcversion="1.85.0",version="1.163.2"} 1.0\n'
)


@pytest.fixture
def metrics_server() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (METRICS if self.path == "/_synapse/metrics" else "OK").encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_the_check_script_reads_the_release_from_synapse_build_info(
    tmp_path: Path, metrics_server: int
) -> None:
    """The script the hosts run, run here against a listener with Synapse's metrics text
    (`version` after `pythonversion` and `rustcversion`, which also end in "version")."""
    site = _spread(tmp_path)
    sync = next(w for w in plan_of(site).workers if w.name == "sync1")
    worker = type(sync)(sync.name, sync.kind, metrics_server, metrics_server)
    script = upgrade_workers.check_script([worker])
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    (row,) = json.loads(done.stdout)
    assert row["unit"] == "matrix-synapse-worker@sync1.service"
    assert row["version"] == "1.163.2" and row["health"] == "OK"


class FakePyPI:
    def latest(self) -> str:
        return NEW

    def releases(self) -> list[str]:
        return [OLD, NEW]

    def facts(self, version: str) -> ReleaseFacts:
        return ReleaseFacts(version, ">=3.10", Schema(94, 84), 13)


def test_the_plan_lists_the_worker_hosts_and_checks_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wmx.ops import upgrade_plan

    site = _spread(tmp_path)
    pythons = {"hs1": "3.13.5", "wk1": "3.9.2"}
    links = {"hs1": OLD, "wk1": "1.159.0"}

    def facts(host: HostView) -> HostFacts:
        return HostFacts(host.name, pythons[host.name], links[host.name], (OLD,))

    monkeypatch.setattr(upgrade_plan, "homeserver_facts", facts)
    monkeypatch.setattr(upgrade_plan, "database_facts", lambda h: HostFacts(h.name, postgres=17))
    plan = upgrade_plan.plan_upgrade(site, FakePyPI(), NEW)  # type: ignore[arg-type]
    assert plan.worker_hosts == {
        "hs1": ["media1"],
        "wk1": ["sync1", "client1", "federation-sender1", "background1"],
    }
    assert plan.running == OLD
    failed = [(c.host, c.what) for c in plan.checks if not c.ok]
    assert failed == [("wk1", "python")]  # its Python 3.9 is below the release's bound
    assert any(w.startswith("wk1 runs Synapse 1.159.0 for its workers") for w in plan.warnings)
    assert plan.as_json()["worker_hosts"]["wk1"][0] == "sync1"


def test_the_upgrades_pip_line_is_the_synapse_roles() -> None:
    """An upgrade's venv gets what the synapse role installs: its extras, and with workers
    the txredisapi bound of its Redis task (a deploy and an upgrade must not differ)."""
    role = data_dir("playbooks") / "roles" / "synapse"
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    assert upgrade_host.PIP_EXTRAS.split(",") == defaults["synapse_pip_extras"]
    tasks = yaml.safe_load((role / "tasks" / "converge.yml").read_text())
    redis = next(t for t in tasks if "Redis dependencies" in t.get("name", ""))
    pins = [a for a in redis["ansible.builtin.command"]["argv"] if a.startswith("txredisapi")]
    assert tuple(pins) == upgrade_host.REDIS_PINS
