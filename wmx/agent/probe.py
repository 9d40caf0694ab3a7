"""What `wmx status` runs on each host: one JSON document about the host.

Sent over SSH as the program of `python3 - PARAMS` (Ansible needs python3 on every host
anyway), so it is one module, standard library only, and needs nothing installed. PARAMS
is a JSON object: the services to look at (name, unit pattern, where the version comes
from), the paths whose disks to report, the TLS certificate and the backup job's
textfile metric. It prints unit states, versions and start times, uptime, disk and memory
use, the certificate's expiry and the backup metrics. Nothing secret passes either way.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime
import json
import os
import subprocess
import sys
import time
from typing import Any

UNIT_PROPERTIES = "ActiveState,SubState,ActiveEnterTimestampMonotonic,LoadState"


def run(*argv: str) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout if out.returncode == 0 else ""


def uptime() -> float:
    with open("/proc/uptime") as handle:
        return float(handle.read().split()[0])


def package_version(name: str) -> str:
    return run("dpkg-query", "-W", "-f=${Version}", name).strip()


def expand(pattern: str) -> list[str]:
    if "*" not in pattern:
        return [pattern]
    lines = run("systemctl", "list-units", "--all", "--plain", "--no-legend", "--full", pattern)
    return sorted(line.split()[0] for line in lines.splitlines() if line.strip()) or [pattern]


def version_of(kind: str, unit: str) -> str:
    """`kind` is a Debian package, `postgresql`, or the path of a `current` link whose
    target is named after its release (/opt/synapse/current -> venvs/1.163.2)."""
    if kind.startswith("/"):
        target = os.path.realpath(kind)
        return os.path.basename(target) if target != kind else ""
    if kind == "postgresql":
        major = unit.split("@", 1)[-1].split("-", 1)[0]
        return package_version("postgresql-" + major) if major.isdigit() else ""
    return package_version(kind) if kind else ""


def parse_properties(text: str) -> dict[str, str]:
    """`systemctl show -p …` output: KEY=value lines."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        props[key] = value
    return props


def unit_state(name: str, unit: str, kind: str, now_up: float) -> dict[str, Any]:
    text = run(
        "systemctl",
        "show",
        unit,
        "-p",
        "ActiveState,SubState,ActiveEnterTimestampMonotonic,LoadState",
    )
    props = parse_properties(text)
    entered = int(props.get("ActiveEnterTimestampMonotonic") or 0)
    active = props.get("ActiveState", "unknown")
    return {
        "name": name,
        "unit": unit,
        "state": active,
        "sub_state": props.get("SubState", ""),
        "loaded": props.get("LoadState", "") == "loaded",
        "since_seconds": round(now_up - entered / 1e6) if entered and active == "active" else None,
        "version": version_of(kind, unit),
    }


def disks(paths: list[str]) -> list[dict[str, Any]]:
    """One entry per filesystem among `paths` (the first path names it)."""
    found: list[dict[str, Any]] = []
    seen: set[int] = set()
    for path in paths:
        if not os.path.exists(path):
            continue
        st = os.stat(path)
        if st.st_dev in seen:
            continue
        seen.add(st.st_dev)
        vfs = os.statvfs(path)
        size = vfs.f_blocks * vfs.f_frsize
        free = vfs.f_bavail * vfs.f_frsize
        found.append(
            {
                "path": path,
                "size_bytes": size,
                "used_bytes": size - free,
                "used_ratio": round((size - free) / size, 4) if size else 0.0,
            }
        )
    return found


def memory(meminfo: str) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in meminfo.splitlines():
        key, _, rest = line.partition(":")
        if key in ("MemTotal", "MemAvailable"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def cert_not_after(path: str) -> float | None:
    """The certificate's expiry (Unix time): openssl, else python3-cryptography."""
    if not os.path.exists(path):
        return None
    end = run("openssl", "x509", "-noout", "-enddate", "-in", path).strip()
    if end.startswith("notAfter="):
        return calendar.timegm(time.strptime(end[9:].replace(" GMT", ""), "%b %d %H:%M:%S %Y"))
    try:
        from cryptography import x509

        with open(path, "rb") as handle:
            loaded = x509.load_pem_x509_certificate(handle.read())
        after = getattr(loaded, "not_valid_after_utc", None) or loaded.not_valid_after
        if after.tzinfo is None:
            after = after.replace(tzinfo=datetime.UTC)
        return after.timestamp()
    except Exception:
        return None


def textfile_metrics(text: str) -> dict[str, float]:
    """Prometheus text format, labels dropped: metric name → value."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith("#"):
            with contextlib.suppress(ValueError):
                values[parts[0].split("{")[0]] = float(parts[1])
    return values


def probe(params: dict[str, Any]) -> dict[str, Any]:
    now_up = uptime()
    units = [
        unit_state(service["name"], unit, service["version_from"], now_up)
        for service in params["services"]
        for unit in expand(service["unit"])
    ]
    with open("/proc/meminfo") as handle:
        mem = memory(handle.read())
    backup: dict[str, float] = {}
    if os.path.exists(params["backup_metrics"]):
        with open(params["backup_metrics"]) as handle:
            backup = textfile_metrics(handle.read())
    return {
        "uptime_seconds": round(now_up),
        "units": units,
        "disks": disks(params["disk_paths"]),
        "memory": mem,
        "cert_not_after": cert_not_after(params["cert_path"]),
        "backup": backup,
        "now": time.time(),
    }


def main(argv: list[str]) -> int:
    print(json.dumps(probe(json.loads(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
