"""The first thing a careful operator looks at: does every service wmx put on a host run?

One `systemctl list-units` per host, over the units of the host's components (the units
`wmx status` shows and `wmx logs` reads, glob patterns included). Without this check a
stopped nginx shows only as a row of failed outside checks, and a stopped PostgreSQL,
IRC bridge or coturn not at all.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from wmx.components.component import Service
from wmx.doctor.checks import Check, failed, passed
from wmx.doctor.inside import HostRunner
from wmx.site.topology import HostView
from wmx.status.probe import stderr_cause


def list_units_argv(services: Sequence[Service]) -> list[str]:
    units = [s.unit for s in services]
    return ["systemctl", "list-units", "--all", "--plain", "--no-legend", "--full", *units]


def parse_units(stdout: str) -> dict[str, tuple[str, str, str]]:
    """`systemctl list-units --plain --no-legend` lines: unit → (load, active, sub)."""
    found: dict[str, tuple[str, str, str]] = {}
    for line in stdout.splitlines():
        words = line.split()
        if len(words) >= 4:
            found[words[0]] = (words[1], words[2], words[3])
    return found


def _matches(pattern: str, unit: str) -> bool:
    from fnmatch import fnmatchcase

    return fnmatchcase(unit, pattern)


def services_check(
    host: HostView, services: Sequence[Service], run: HostRunner, several_hosts: bool
) -> Check:
    """✓ when every service's unit is loaded and active on `host`; else one detail per
    service that is not, and a fix naming `wmx logs` for each."""
    id, title = f"services:{host.name}", f"Services on {host.name}"
    if not services:
        return passed(id, title, "none", "inside")
    try:
        proc = run(host, list_units_argv(services))
    except (OSError, subprocess.SubprocessError) as exc:
        return failed(id, title, str(exc), f"check that `wmx status` reaches {host.name}", "inside")
    if proc.returncode != 0:
        cause = stderr_cause(proc.stderr, f"systemctl status {proc.returncode}")
        return failed(id, title, cause, f"check that `wmx status` reaches {host.name}", "inside")
    units = parse_units(proc.stdout)
    down: list[Service] = []
    details: list[str] = []
    running = 0
    for service in services:
        mine = [(u, state) for u, state in units.items() if _matches(service.unit, u)]
        if not mine or all(load == "not-found" for _, (load, _, _) in mine):
            down.append(service)
            details.append(f"{service.name} ({service.unit}) is not installed")
            continue
        for unit, (_, active, sub) in mine:
            if active == "active":
                running += 1
            else:
                down.append(service)
                details.append(f"{service.name} ({unit}) is {active} ({sub})")
    if not details:
        return passed(id, title, f"{running} units active", "inside")
    where = f" --host {host.name}" if several_hosts else ""
    names = [f"`wmx logs {s.name}{where}`" for s in dict.fromkeys(down)]
    says = "says" if len(names) == 1 else "say"
    return failed(
        id,
        title,
        "; ".join(details),
        f"{', '.join(names)} {says} why; `wmx deploy` starts what was stopped and puts "
        "back configuration edited by hand on the host",
        "inside",
    )
