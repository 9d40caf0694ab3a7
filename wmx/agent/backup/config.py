"""The job's settings (job.json, borg.env), its lock, and the files it writes."""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

JOB_CONFIG = Path("/etc/wmx/backup/job.json")
BORG_ENV = Path("/etc/wmx/backup/borg.env")
# The entry script the backup role installs (wmx.components.backup.TOOL names the same path):
# a local database's snapshot is taken by running it again as postgres.
TOOL = "/usr/local/sbin/wmx-backup"

Config = dict[str, Any]


class Failure(Exception):
    """A step failed; the message is safe to show (it never holds a secret)."""


def load_config(path: Path = JOB_CONFIG) -> Config:
    try:
        config: Config = json.loads(path.read_text())
    except FileNotFoundError:
        raise Failure(f"{path} is missing: this host has no wmx backup (wmx deploy)") from None
    return config


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=value lines (systemd's EnvironmentFile= subset wmx writes); comments skipped."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        values.setdefault(key.strip(), value)
    return values


def borg_env(path: Path = BORG_ENV) -> dict[str, str]:
    """This process's environment plus borg.env (when not already set by systemd)."""
    env = dict(os.environ)
    if path.exists():
        for key, value in parse_env_file(path.read_text()).items():
            env.setdefault(key, value)
    env.setdefault("LANG", "C.UTF-8")
    return env


def now_iso(ts: float | None = None) -> str:
    moment = datetime.datetime.fromtimestamp(ts if ts is not None else time.time(), datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def load_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return default


@contextlib.contextmanager
def locked(config: Config) -> Iterator[None]:
    """One backup or restore step at a time on this host (the timer and `wmx backup`)."""
    state = Path(config["state_dir"])
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(state / "lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Failure("another backup or restore is running on this host") from None
        yield
