"""What the last successful deploy recorded about the site (`.wmx/deployed/site.json`).

The server name is part of every user id, room id and signature: once a site has been
deployed it cannot change, whoever edits wmx.yaml. Every load for render, diff or deploy
compares wmx.yaml with the record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from wmx.errors import InputError
from wmx.site.yamlfile import write_atomically

if TYPE_CHECKING:
    from wmx.site import SitePaths

RECORD_FILE = "site.json"
# Sites deployed before the record existed: the deployed homeserver.yaml says it.
_HOMESERVER_YAML = "etc/matrix-synapse/homeserver.yaml"
_SERVER_NAME_LINE = re.compile(r'\Aserver_name: "([^"\\]+)"\Z')


def _from_homeserver_yaml(deployed: Path) -> str | None:
    for config in sorted(deployed.glob(f"*/{_HOMESERVER_YAML}")):
        try:
            lines = config.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
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
        data = json.loads(record.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _from_homeserver_yaml(paths.deployed) if paths.deployed.is_dir() else None
    except (OSError, ValueError) as exc:
        raise InputError(f"{record}: unreadable ({exc}); it records the deployed site") from None
    name = data.get("server_name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise InputError(f"{record}: no server_name in it; it records the deployed site")
    return name


def record_deployment(paths: SitePaths, server_name: str) -> None:
    """After a successful deploy: remember what must never change."""
    paths.deployed.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps({"server_name": server_name}, indent=2) + "\n"
    write_atomically(paths.deployed / RECORD_FILE, text, 0o600)


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
