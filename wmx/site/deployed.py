"""What the last successful deploy recorded about the site (`.wmx/deployed/site.json`).

The server name is part of every user id, room id and signature: once a site has been
deployed it cannot change, whoever edits wmx.yaml. Every load for render, diff or deploy
compares wmx.yaml with the record.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wmx.errors import InputError
from wmx.site.state_files import StateNotDirectory, load_record, read_state, write_state
from wmx.site.yamlfile import dead_leftovers

if TYPE_CHECKING:
    from wmx.site import SitePaths

RECORD_FILE = "site.json"
# Sites deployed before the record existed: the deployed homeserver.yaml says it.
_HOMESERVER_YAML = "etc/matrix-synapse/homeserver.yaml"
_SERVER_NAME_LINE = re.compile(r'\Aserver_name: "([^"\\]+)"\Z')


def _from_homeserver_yaml(paths: SitePaths) -> str | None:
    for config in sorted(paths.deployed.glob(f"*/{_HOMESERVER_YAML}")):
        try:
            lines = (read_state(config, paths.root) or b"").decode("utf-8").splitlines()
        except (InputError, UnicodeDecodeError):
            continue
        for line in lines:
            match = _SERVER_NAME_LINE.fullmatch(line)
            if match:
                return match.group(1)
    return None


def deployed_server_name(paths: SitePaths) -> str | None:
    """The server name of the last successful deploy, or None if there was none."""
    record = paths.deployed / RECORD_FILE
    try:
        data = load_record(record, paths.root, _RECORD_IS)
    except StateNotDirectory:
        raise  # .wmx/ is the problem, not the record: no remedy of the record's
    except InputError as exc:
        raise InputError(f"{exc}; {_remedy(paths)}") from None
    if data is None:
        return _from_homeserver_yaml(paths) if paths.deployed.is_dir() else None
    name = data.get("server_name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise InputError(f"{record}: no server_name in it; {_RECORD_IS}; {_remedy(paths)}")
    return name


_RECORD_IS = "it records the server name of the last deploy"


def _remedy(paths: SitePaths) -> str:
    """What to do about a damaged record: it keeps only the deployed server name, which
    the deployed homeserver.yaml also says when the deploy left one."""
    if _from_homeserver_yaml(paths) is not None:
        return "delete it, and wmx reads that name again from .wmx/deployed/"
    return 'restore it from your copy of the site, or write {"server_name": "NAME"} in it'


def record_deployment(paths: SitePaths, server_name: str) -> None:
    """After a successful deploy: remember what must never change."""
    paths.deployed.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps({"server_name": server_name}, indent=2) + "\n"
    write_state(paths.deployed / RECORD_FILE, text, 0o600)


def check_server_name(paths: SitePaths, server_name: str, line: int | None = None) -> None:
    """Refuse a wmx.yaml whose server_name differs from the deployed one."""
    deployed = deployed_server_name(paths)
    if deployed is not None and deployed != server_name:
        where = f"{paths.config}:{line}" if line else str(paths.config)
        raise InputError(
            f"{where}: server_name: cannot change after the first deploy (deployed as "
            f"{deployed!r}, now {server_name!r}): it is part of every user id, room id and "
            f"signature; put back `server_name: {deployed}`"
        )


def replace_tree(
    source: Path,
    target: Path,
    *,
    carry: Sequence[str] = (),
    prepare: Callable[[Path, Path], None] | None = None,
) -> None:
    """Make directory `target` a copy of `source`, so that a reader (or a run killed at any
    point) finds the old tree or the new one, whole, never a half-copied one.

    The copy is made beside `target` and swapped in by two renames. Files named in `carry`
    (relative paths) that the new tree lacks are taken over from the old one: a record
    that is rewritten right after the swap is never missing in between. `prepare`, if
    given, is called with the copy and the old tree before the swap, to make the copy
    what the record must say (a part kept from the old tree): if it fails, the old tree
    stays as it was. Copies left by a killed run are removed by the next; an old tree that
    had been renamed away but not yet replaced is put back first.
    """
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _recover(target)
    stem = f".{target.name}.{os.getpid()}"
    staging, old = parent / f"{stem}.new", parent / f"{stem}.old"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    for relative in carry:
        kept, fresh = target / relative, staging / relative
        if kept.is_file() and not fresh.exists():
            fresh.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(kept, fresh)
    if prepare is not None:
        try:
            prepare(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    if target.exists():
        os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def _recover(target: Path) -> None:
    """Put back an old tree a killed run renamed away; drop the copies of dead runs."""
    for candidate, kind in dead_leftovers(target.parent, f".{target.name}."):
        if kind not in {"new", "old"}:
            continue
        if kind == "old" and not target.exists():
            with contextlib.suppress(OSError):  # never removed while it is the only copy
                os.rename(candidate, target)
            continue
        shutil.rmtree(candidate, ignore_errors=True)
