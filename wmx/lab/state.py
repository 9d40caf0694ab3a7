"""state.json: what the lab believes it has set up.

It is a hint, never the truth: after a killed run or a reboot of the machine it can list
hosts that are gone and pids that now belong to someone else. Callers verify everything
they read here against the kernel (/proc, mountinfo, ip, nft) before acting on it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_VERSION = 1


@dataclass
class HostRecord:
    address: str
    supervisor_pid: int | None = None


@dataclass
class LabState:
    hosts: dict[str, HostRecord] = field(default_factory=dict)
    # Extra .test names (a site's server_name, web client host, ...) -> lab host name.
    names: dict[str, str] = field(default_factory=dict)
    # net.ipv4.ip_forward before the lab first set it, restored by `down`.
    ip_forward_before: str | None = None
    pebble_pid: int | None = None
    challtestsrv_pid: int | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {"version": STATE_VERSION, **asdict(self)}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("state is not a JSON object")
        hosts = {
            str(name): HostRecord(
                address=str(record["address"]),
                supervisor_pid=_optional_int(record.get("supervisor_pid")),
            )
            for name, record in dict(data.get("hosts") or {}).items()
        }
        return cls(
            hosts=hosts,
            names={str(k): str(v) for k, v in dict(data.get("names") or {}).items()},
            ip_forward_before=_optional_str(data.get("ip_forward_before")),
            pebble_pid=_optional_int(data.get("pebble_pid")),
            challtestsrv_pid=_optional_int(data.get("challtestsrv_pid")),
        )


def load_state(path: Path) -> LabState:
    """The saved state, or an empty one if the file is missing or unreadable."""
    try:
        return LabState.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return LabState()
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        log.warning("ignoring unreadable lab state %s: %s", path, error)
        return LabState()


def save_state(path: Path, state: LabState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(state.to_json(), encoding="utf-8")
    os.replace(tmp, path)


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
