"""What `wmx status` asks each host over SSH: the probe of wmx.agent.probe.

The probe is one module of the host-side package, standard library only: its source is
sent to `python3 -` over SSH (Ansible needs python3 on every host anyway) with its
parameters as one JSON argument, and it prints one JSON document: unit states, versions
and start times, uptime, disk and memory use, the TLS certificate's expiry (proxy) and
the backup job's textfile metric. Nothing secret passes either way. It runs as root
(through `sudo -n` for a non-root user with become): the certificate is root's to read.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from wmx.agent import probe as agent_probe
from wmx.errors import WmxError
from wmx.site.topology import HostView
from wmx.ssh import connection
from wmx.ssh.unreachable import SSH_FAILED, unreachable
from wmx.status.services import Service

CERT_PATH = "/etc/letsencrypt/live/wmx/cert.pem"
BACKUP_METRICS = "/var/lib/prometheus/node-exporter/wmx_backup.prom"
DISK_PATHS = ("/", "/var/lib/postgresql", "/var/lib/synapse", "/var/lib/prometheus")


@dataclass(frozen=True)
class HostProbe:
    """One host's answer, as the probe printed it (see wmx.agent.probe)."""

    data: dict[str, Any]


@cache
def probe_source() -> str:
    """The program the host runs: wmx/agent/probe.py as it is."""
    return Path(agent_probe.__file__).read_text(encoding="utf-8")


def probe_params(services: list[Service]) -> str:
    return json.dumps(
        {
            "services": [
                {"name": s.name, "unit": s.unit, "version_from": s.version_from} for s in services
            ],
            "disk_paths": list(DISK_PATHS),
            "cert_path": CERT_PATH,
            "backup_metrics": BACKUP_METRICS,
        }
    )


def stderr_cause(stderr: str, fallback: str) -> str:
    """The line of a command's stderr that says what went wrong: the last one that is not
    indented (psql indents its hint under its error; a Python traceback ends with the
    exception), else the last line, else `fallback`."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    flush = [line for line in lines if not line[0].isspace()]
    return (flush or lines or [fallback])[-1].strip()


def probe_host(host: HostView, services: list[Service], timeout: float = 60) -> HostProbe:
    """Run the probe on `host` over SSH (the inventory's connection settings)."""
    try:
        argv = connection(host).command(["python3", "-", probe_params(services)])
        result = subprocess.run(
            argv,
            input=probe_source(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise WmxError(f"{host.name}: no answer over SSH within {timeout:.0f} s") from None
    if result.returncode == SSH_FAILED:
        raise unreachable(host, result.stderr)
    if result.returncode != 0:
        cause = stderr_cause(result.stderr, "ssh failed")
        raise WmxError(f"{host.name} ({host.address}): {cause}")
    try:
        return HostProbe(json.loads(result.stdout))
    except json.JSONDecodeError:
        raise WmxError(f"{host.name}: the status probe printed no JSON") from None
