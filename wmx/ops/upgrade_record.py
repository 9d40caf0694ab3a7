"""The record of each upgrade run, in the site's .wmx/upgrades/: one file per run named by
its start time, and last.json. `wmx status` shows the last; a rollback goes back to what
the last applied run of a component started from."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wmx.errors import InputError, printable
from wmx.site import Site
from wmx.site.grammars import RELEASE_VERSION
from wmx.site.state_files import load_optional, write_state

DUMP_DIR = "/var/backups/wmx-upgrade"
_RELEASE_DIR = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,79}", re.ASCII)
# A dump wmx.ops.upgrade's dump_script took: a file of its own in DUMP_DIR (the name
# the host echoed: synapse-OLD-to-NEW-STAMP.dump).
_DUMP_PATH = re.compile(re.escape(DUMP_DIR) + r"/[0-9A-Za-z][0-9A-Za-z.+_-]{0,120}\.dump", re.ASCII)


def state_dir(site: Site) -> Path:
    path = site.paths.state / "upgrades"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@dataclass
class UpgradeRecord:
    kind: str  # "apply" or "rollback"
    component: str
    from_version: str | None  # None: no release ran before (the web client's first)
    to_version: str
    started: str
    database_rule: str
    dump: str | None = None
    backup_archive: str | None = None
    finished: str | None = None
    status: str = "running"  # applied, rolled-back, failed, rolled-back-by-hand
    failed: list[str] = field(default_factory=list)
    detail: str = ""
    outage_s: float | None = None
    migration_s: float | None = None
    database_restored: bool = False
    # wmx.yaml's values before the run, set back by a rollback (the web client's release).
    settings_before: dict[str, str | None] = field(default_factory=dict)

    def save(self, site: Site) -> None:
        folder = state_dir(site)
        text = json.dumps(self.__dict__, indent=2, sort_keys=True) + "\n"
        stamp = self.started.replace(":", "")
        write_state(folder / f"{stamp}-{self.component}-{self.kind}.json", text)
        write_state(folder / "last.json", text)


def last_record(state: Path) -> dict[str, Any] | None:
    """The last upgrade run of a site (`wmx status`), or None."""
    data = load_optional(state / "upgrades" / "last.json", state.parent)
    return read_record(data)


def read_record(data: Any) -> dict[str, Any] | None:
    """A record as read from .wmx/upgrades/ (None: not a record). A version not known is
    null; a record written by an earlier wmx holds the text "None" there (it wrote
    str(None) for a web client that had no release before), read as not known too."""
    if not isinstance(data, dict):
        return None
    for key in ("from_version", "to_version"):
        if data.get(key) == "None":
            data[key] = None
    return data


def last_of(site: Site, component: str) -> dict[str, Any] | None:
    """The last run of `component` (records are named by their start time): last.json may
    be another component's. A rollback runs what the record names on the hosts as root,
    so it is checked first (`checked_record`)."""
    for path in sorted(state_dir(site).glob("*-*.json"), reverse=True):
        if path.name in ("last.json", "canary.json"):
            continue
        data = read_record(load_optional(path, site.paths.root))
        if data is not None and data.get("component") == component:
            return checked_record(data, path.relative_to(site.paths.root).as_posix())
    return None


def checked_record(data: dict[str, Any], name: str) -> dict[str, Any]:
    """`data` when what a rollback takes from it is what wmx writes there: release numbers,
    the pre-upgrade dump's path in DUMP_DIR. The record is a file in the site; a value
    that is not (edited by hand, damaged) is a user error naming the file and key, and
    nothing is run: a version goes into a script run as root on the hosts, the dump is
    what replaces the database."""
    # The web client's runs name its release directories (1.12.25-0123456789ab); a
    # Synapse or bridge run names a PyPI release, which becomes a venv's path.
    grammar = _RELEASE_DIR if data.get("component") == "web-client" else RELEASE_VERSION
    for key in ("from_version", "to_version"):
        value = data.get(key)
        if value is not None and not (isinstance(value, str) and grammar.fullmatch(value)):
            raise InputError(
                f"{name}: {key}: {printable(str(value))[:60]} is not a release wmx records; "
                "the record was edited or is damaged, nothing was done"
            )
    dump = data.get("dump")
    if dump is not None and not (isinstance(dump, str) and _DUMP_PATH.fullmatch(dump)):
        raise InputError(
            f"{name}: dump: {printable(str(dump))[:80]} is not a dump wmx takes "
            f"(a file of {DUMP_DIR}/); the record was edited or is damaged, "
            "nothing was done"
        )
    return data
