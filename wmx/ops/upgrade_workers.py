"""`wmx upgrade` on a site with Synapse's workers (docs/workers.md): every Synapse process
moves to the new release together.

Workers run the `current` link of their own host (the homeserver host for the media
worker, the hosts of group `synapse_workers` for the others). So the upgrade:
1. installs the new release into its own venv on every such host, side by side, while
   every process keeps serving (a failure there changes nothing that runs);
2. stops the workers on every host, then (wmx.ops.upgrade) stops the main process,
   switches every host's link, starts the main process, which migrates the schema (a
   worker refuses to start on a schema older than its code), and runs the gate;
3. starts the workers on every host once the main process passed, and checks each: its
   unit active, its metrics listener reporting the new release in `synapse_build_info`,
   and its HTTP listener's /health (the workers nginx routes to) answering OK.
A failed step on any host fails the gate: the rollback stops every worker, switches
every host back the same way, starts the main process, then the workers (the order
`wmx deploy` uses). Steps on several hosts run side by side.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from wmx.components.synapse import SYNAPSE_CURRENT_LINK
from wmx.components.synapse_workers import RESOURCES, Worker, plan_of
from wmx.errors import WmxError
from wmx.ops import upgrade_host
from wmx.ops.upgrade_gate import Probe, Verdict, decide
from wmx.site import Site
from wmx.site.topology import HostView

WORKER_POLL = 2.0  # seconds between two looks at the workers while they start


@dataclass(frozen=True)
class HostWorkers:
    """A host that runs Synapse processes, and the workers among them."""

    host: HostView
    workers: tuple[Worker, ...]
    main: bool  # the homeserver host (the main process runs there)


def synapse_hosts(site: Site) -> list[HostWorkers]:
    """The homeserver host first, then every host of the site's worker plan, in inventory
    order: the hosts an upgrade of Synapse touches."""
    plan = plan_of(site)
    homeserver = site.topology.the("homeserver")
    out = [HostWorkers(homeserver, tuple(plan.on(homeserver.name)), True)]
    out += [
        HostWorkers(h, tuple(plan.on(h.name)), False)
        for h in site.topology.hosts
        if h.name != homeserver.name and plan.on(h.name)
    ]
    return out


def extras(site: Site) -> str:
    """pip's extras for the new venv: the synapse role's, plus `redis` with workers (Synapse
    refuses `redis: enabled` without its client libraries)."""
    return upgrade_host.PIP_EXTRAS + (",redis" if plan_of(site) else "")


def on_each(hosts: Sequence[HostView], step: Callable[[HostView], object]) -> None:
    """`step` on every host side by side; every host's failure is named after all ended."""
    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        futures = [(h, pool.submit(step, h)) for h in hosts]
    failed = []
    for host, future in futures:
        error = future.exception()
        if error is not None and not isinstance(error, WmxError):
            raise error  # a fault of wmx's, not of a host: its traceback
        if error is not None:
            detail = str(error)
            failed.append(
                detail if detail.startswith(f"{host.name}:") else f"{host.name}: {detail}"
            )
    if failed:
        raise WmxError("; ".join(failed))


def install(site: Site, version: str) -> None:
    """The release's venv on every Synapse host (nothing that runs changes)."""
    pins = upgrade_host.REDIS_PINS if plan_of(site) else ()
    script = upgrade_host.install_script(version, extras(site), pins)
    on_each([h.host for h in synapse_hosts(site)], lambda h: upgrade_host.remote(h, script, 1800))


def units(workers: Sequence[Worker]) -> str:
    return " ".join(shlex.quote(w.unit) for w in workers)


def stop_script(workers: Sequence[Worker]) -> str:
    return f"systemctl stop {units(workers)}"


def start_script(workers: Sequence[Worker]) -> str:
    """Start without waiting (each worker's check below decides); a unit left failed by
    an earlier attempt is reset first."""
    names = units(workers)
    return f"systemctl reset-failed {names} 2>/dev/null || true; systemctl start --no-block {names}"


def link_script(version: str) -> str:
    """Point a worker host's `current` link at the release (rename(2): atomic)."""
    venv = upgrade_host.venv_of(version)
    link = SYNAPSE_CURRENT_LINK
    return (
        f"set -e; test -x {venv}/bin/python; "
        f"ln -sfn {venv} {link}.wmx-new; mv -T {link}.wmx-new {link}"
    )


def before_switch(site: Site, version: str) -> None:
    """On every host side by side: stop its workers, then (a worker host) point its link
    at `version` (the homeserver host's link is switched with the main process:
    switch_script). Every host is tried; those that failed are named after all ended."""
    hosts = [h for h in synapse_hosts(site) if h.workers]
    by_name = {h.host.name: h for h in hosts}

    def step(host: HostView) -> None:
        entry = by_name[host.name]
        upgrade_host.remote(host, stop_script(entry.workers), 180)
        if not entry.main:
            upgrade_host.remote(host, link_script(version), 60)

    on_each([h.host for h in hosts], step)


def before_switch_back(site: Site, version: str, restore: bool) -> Probe | None:
    """before_switch for a rollback: a host that fails stops neither the other hosts'
    switch back nor the main process's (its failure is returned, a failed probe for the
    verdict), unless the database is to be restored, which must not happen while a
    worker that could not be stopped may still write: then it raises."""
    try:
        before_switch(site, version)
    except WmxError as exc:
        if restore:
            raise
        return Probe("switch", False, f"back to {version}: {exc}")
    return None


# argv: a JSON list of [unit, metrics port, HTTP port or 0]; prints one JSON row per worker.
CHECK = r"""python3 - "$1" <<'EOF'
import json, re, subprocess, sys, urllib.request
rows = []
for unit, metrics, http in json.loads(sys.argv[1]):
    state = subprocess.run(["systemctl", "is-active", unit], capture_output=True,
                           text=True).stdout.strip()
    row = {"unit": unit, "state": state, "version": None, "health": None}
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/_synapse/metrics",
                                    timeout=10) as answer:
            text = answer.read().decode(errors="replace")
        info = re.search(r"^synapse_build_info\{(.*)\}", text, re.M)
        found = info and re.search(r'(?:^|,)version="([^"]*)"', info.group(1))
        row["version"] = found.group(1) if found else "no synapse_build_info"
    except Exception as exc:
        row["version"] = "metrics: " + type(exc).__name__
    if http:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/health", timeout=10) as answer:
                row["health"] = answer.read().decode(errors="replace").strip()
        except Exception as exc:
            row["health"] = type(exc).__name__
    rows.append(row)
print(json.dumps(rows))
EOF"""


def check_script(workers: Sequence[Worker]) -> str:
    """The check for `workers` of one host: /health for those with an HTTP listener."""
    spec = [[w.unit, w.metrics_port, w.port if w.kind in RESOURCES else 0] for w in workers]
    return f"set -- {shlex.quote(json.dumps(spec))}; {CHECK}"


def host_rows(host: HostView, workers: Sequence[Worker]) -> list[dict[str, Any]]:
    """Each worker's state as its host sees it (the check script's rows). A worker the
    script gave no row for fails the check (judge only sees the rows it is given)."""
    text = upgrade_host.remote(host, check_script(workers), 60).strip()
    rows = json.loads(text.splitlines()[-1]) if text else []
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    missing = sorted({w.unit for w in workers} - {str(r.get("unit")) for r in rows})
    if missing:
        raise WmxError(f"{host.name}: the worker check gave no row for {', '.join(missing)}")
    return rows


_UNIT_NAME = re.compile(r"matrix-synapse-worker@(.+)\.service")


def judge(rows_by_host: dict[str, list[dict[str, Any]]], version: str) -> tuple[bool, str]:
    """(passed, detail): every worker active, reporting `version`, its /health OK."""
    bad, count = [], 0
    for host, rows in rows_by_host.items():
        for row in rows:
            count += 1
            match = _UNIT_NAME.fullmatch(str(row.get("unit", "")))
            name = f"{match.group(1) if match else row.get('unit')} on {host}"
            if row.get("state") != "active":
                bad.append(f"{name}: {row.get('state') or 'unknown'}")
            elif row.get("version") != version:
                bad.append(f"{name}: reports {row.get('version')} (expected {version})")
            elif row.get("health") not in (None, "OK"):
                bad.append(f"{name}: /health {row.get('health')}")
    if bad:
        return False, "; ".join(bad)
    return True, f"{count} workers on {', '.join(rows_by_host)} active and on {version}"


def workers_probe(
    site: Site, version: str, timeout: float, *, sleep: Callable[[float], None] = time.sleep
) -> Probe:
    """Polled until every worker passes or the time limit."""
    hosts = [h for h in synapse_hosts(site) if h.workers]
    deadline = time.monotonic() + timeout
    while True:
        try:
            rows = {h.host.name: host_rows(h.host, h.workers) for h in hosts}
            ok, detail = judge(rows, version)
        except (WmxError, ValueError) as exc:
            ok, detail = False, str(exc)
        if ok or time.monotonic() >= deadline:
            return Probe("workers", ok, detail)
        sleep(WORKER_POLL)


def after_gate(site: Site, version: str, verdict: Verdict, timeout: float) -> Verdict:
    """Once the main process passed its gate: start the workers on every host and add
    their check to the verdict (a failed main process leaves them stopped: the
    rollback follows)."""
    hosts = [h for h in synapse_hosts(site) if h.workers]
    if not hosts or not verdict.ok:
        return verdict
    by_name = {h.host.name: h for h in hosts}
    try:
        on_each(
            [h.host for h in hosts],
            lambda host: upgrade_host.remote(host, start_script(by_name[host.name].workers), 180),
        )
        probe = workers_probe(site, version, timeout)
    except WmxError as exc:
        probe = Probe("workers", False, f"start: {exc}")
    return decide([*verdict.probes, probe], verdict.ready_s)
