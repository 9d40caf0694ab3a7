"""What `wmx status` asks each host over SSH: one Python script, standard library only.

The script runs as `python3 -` (Ansible needs python3 on every host anyway), reads its
parameters from a JSON literal at its top and prints one JSON document: unit states,
versions and start times, uptime, disk and memory use, the TLS certificate's expiry
(proxy) and the backup job's textfile metric. Nothing secret passes either way.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from wmx.admin.tunnel import ssh_base_argv
from wmx.errors import WmxError
from wmx.site.topology import HostView
from wmx.status.services import Service

CERT_PATH = "/etc/letsencrypt/live/wmx/cert.pem"
BACKUP_METRICS = "/var/lib/prometheus/node-exporter/wmx_backup.prom"
DISK_PATHS = ("/", "/var/lib/postgresql", "/var/lib/synapse", "/var/lib/prometheus")

# Runs on the host. Keep it to the standard library of Debian 12's python3.
_SCRIPT = r"""
import calendar, datetime, json, os, subprocess, time

params = json.loads(PARAMS)

def run(*argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout if out.returncode == 0 else ""

def uptime():
    with open("/proc/uptime") as handle:
        return float(handle.read().split()[0])

def package_version(name):
    return run("dpkg-query", "-W", "-f=${Version}", name).strip()

def expand(pattern):
    if "*" not in pattern:
        return [pattern]
    lines = run("systemctl", "list-units", "--all", "--plain", "--no-legend", "--full", pattern)
    return sorted(line.split()[0] for line in lines.splitlines() if line.strip()) or [pattern]

def version_of(kind, unit):
    if kind == "synapse":
        target = os.path.realpath("/opt/synapse/current")
        return os.path.basename(target) if target != "/opt/synapse/current" else ""
    if kind == "postgresql":
        major = unit.split("@", 1)[-1].split("-", 1)[0]
        return package_version("postgresql-" + major) if major.isdigit() else ""
    return package_version(kind) if kind else ""

now_up = uptime()
units = []
for service in params["services"]:
    for unit in expand(service["unit"]):
        props = {}
        text = run("systemctl", "show", unit, "-p",
                   "ActiveState,SubState,ActiveEnterTimestampMonotonic,LoadState")
        for line in text.splitlines():
            key, _, value = line.partition("=")
            props[key] = value
        entered = int(props.get("ActiveEnterTimestampMonotonic") or 0)
        active = props.get("ActiveState", "unknown")
        units.append({
            "name": service["name"], "unit": unit,
            "state": active, "sub_state": props.get("SubState", ""),
            "loaded": props.get("LoadState", "") == "loaded",
            "since_seconds": (
                round(now_up - entered / 1e6) if entered and active == "active" else None
            ),
            "version": version_of(service["version_from"], unit),
        })

disks, seen = [], set()
for path in params["disk_paths"]:
    if not os.path.exists(path):
        continue
    st = os.stat(path)
    if st.st_dev in seen:
        continue
    seen.add(st.st_dev)
    vfs = os.statvfs(path)
    size = vfs.f_blocks * vfs.f_frsize
    free = vfs.f_bavail * vfs.f_frsize
    disks.append({"path": path, "size_bytes": size, "used_bytes": size - free,
                  "used_ratio": round((size - free) / size, 4) if size else 0.0})

memory = {}
with open("/proc/meminfo") as handle:
    for line in handle:
        key, _, rest = line.partition(":")
        if key in ("MemTotal", "MemAvailable"):
            memory[key] = int(rest.split()[0]) * 1024

cert = None
if os.path.exists(params["cert_path"]):
    end = run("openssl", "x509", "-noout", "-enddate", "-in", params["cert_path"]).strip()
    if end.startswith("notAfter="):
        cert = calendar.timegm(time.strptime(end[9:].replace(" GMT", ""), "%b %d %H:%M:%S %Y"))
    else:
        try:
            from cryptography import x509
            with open(params["cert_path"], "rb") as handle:
                loaded = x509.load_pem_x509_certificate(handle.read())
            after = getattr(loaded, "not_valid_after_utc", None) or loaded.not_valid_after
            if after.tzinfo is None:
                after = after.replace(tzinfo=datetime.timezone.utc)
            cert = after.timestamp()
        except Exception:
            cert = None

backup = {}
if os.path.exists(params["backup_metrics"]):
    with open(params["backup_metrics"]) as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and not line.startswith("#"):
                try:
                    backup[parts[0].split("{")[0]] = float(parts[1])
                except ValueError:
                    pass

print(json.dumps({"uptime_seconds": round(now_up), "units": units, "disks": disks,
                  "memory": memory, "cert_not_after": cert, "backup": backup,
                  "now": time.time()}))
"""


@dataclass(frozen=True)
class HostProbe:
    """One host's answer, as the script printed it (see `_SCRIPT`)."""

    data: dict[str, Any]


def probe_script(services: list[Service]) -> str:
    params = {
        "services": [
            {"name": s.name, "unit": s.unit, "version_from": s.version_from} for s in services
        ],
        "disk_paths": list(DISK_PATHS),
        "cert_path": CERT_PATH,
        "backup_metrics": BACKUP_METRICS,
    }
    return f"PARAMS = {json.dumps(json.dumps(params))}\n{_SCRIPT}"


def probe_host(host: HostView, services: list[Service], timeout: float = 60) -> HostProbe:
    """Run the probe on `host` over SSH (the inventory's connection settings)."""
    argv = [*ssh_base_argv(host), "python3", "-"]
    try:
        result = subprocess.run(
            argv,
            input=probe_script(services),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise WmxError(f"{host.name}: no answer over SSH within {timeout:.0f} s") from None
    if result.returncode != 0:
        cause = (result.stderr.strip().splitlines() or ["ssh failed"])[-1]
        raise WmxError(f"{host.name} ({host.address}): {cause}")
    try:
        return HostProbe(json.loads(result.stdout))
    except json.JSONDecodeError:
        raise WmxError(f"{host.name}: the status probe printed no JSON") from None
