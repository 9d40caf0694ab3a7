"""The job's status file and the textfile metrics monitoring alerts on."""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from .config import Config, load_json, write_atomically

DEFAULT_MAX_AGE = 36 * 3600


def calendar_moments(output: str) -> list[datetime.datetime]:
    """The elapse times in `systemd-analyze calendar --iterations=N` output (TZ=UTC)."""
    moments: list[datetime.datetime] = []
    for line in output.splitlines():
        # With TZ=UTC: "Next elapse: Thu 2026-11-26 05:00:00 UTC", then "Iter. #2: …"
        # (systemd 252, Debian 12) or "Iteration #2: …" (systemd 257, Debian 13).
        label, _, text = line.partition(": ")
        if label.strip() == "Next elapse" or label.strip().startswith(("Iter. #", "Iteration #")):
            with contextlib.suppress(ValueError):
                moments.append(datetime.datetime.strptime(text.strip()[4:23], "%Y-%m-%d %H:%M:%S"))
    return moments


def schedule_interval(schedule: str) -> int:
    """Seconds between two runs of the timer, from systemd's own calendar parser."""
    proc = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=3", schedule],
        capture_output=True, text=True, env={**os.environ, "TZ": "UTC"},
    )  # fmt: skip
    moments = calendar_moments(proc.stdout)
    gaps = [int((b - a).total_seconds()) for a, b in itertools.pairwise(moments)]
    return max(gaps) if gaps else 0


def max_age_for(interval: int) -> int:
    """How old the last success may get before monitoring alerts: one missed run."""
    if interval <= 0:
        return DEFAULT_MAX_AGE
    return max(interval + 3600, interval * 3 // 2)


def max_age(schedule: str) -> int:
    return max_age_for(schedule_interval(schedule))


def metrics_text(status: dict[str, Any], max_age_seconds: int) -> str:
    success = status.get("last_success") or {}
    last = status.get("last_run") or {}
    rows = [
        ("wmx_backup_last_success_timestamp_seconds",
         "Unix time at which the last backup that reached every repository ended.",
         success.get("ended_ts", 0)),
        ("wmx_backup_last_size_bytes",
         "Original size of the last successful archive.", success.get("original_size", 0)),
        ("wmx_backup_last_deduplicated_size_bytes",
         "Bytes the last successful archive added to its repository.",
         success.get("deduplicated_size", 0)),
        ("wmx_backup_last_duration_seconds",
         "Duration of the last successful backup.", success.get("duration", 0)),
        ("wmx_backup_max_age_seconds",
         "Age of the last success beyond which a backup counts as missed.", max_age_seconds),
        ("wmx_backup_last_run_success",
         "1 if the last backup run reached every repository, else 0.",
         1 if last.get("ok") else 0),
        ("wmx_backup_last_run_timestamp_seconds",
         "Unix time at which the last backup run ended.", last.get("ended_ts", 0)),
    ]  # fmt: skip
    out: list[str] = []
    for name, help_text, value in rows:
        out += [f"# HELP {name} {help_text}\n", f"# TYPE {name} gauge\n", f"{name} {value}\n"]
    return "".join(out)


def updated_status(status: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """The status file after `run`: the last run, success and failure."""
    status["last_run"] = run
    if run["ok"]:
        status["last_success"] = run
    elif run.get("error") or any(not r.get("ok") for r in run["repositories"].values()):
        status["last_failure"] = run
    return status


def record(config: Config, run: dict[str, Any]) -> dict[str, Any]:
    status_path = Path(config["status_file"])
    status = updated_status(load_json(status_path, {}), run)
    write_atomically(status_path, json.dumps(status, indent=2, sort_keys=True) + "\n", 0o600)
    metrics = Path(config["metrics_file"])
    write_atomically(metrics, metrics_text(status, max_age(config["schedule"])), 0o644)
    return status
