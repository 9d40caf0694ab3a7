"""Schema versions of wmx.yaml: read old ones, refuse newer ones with a clear message."""

from __future__ import annotations

import sys
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from wmx.errors import InputError
from wmx.site.model import SCHEMA_VERSION
from wmx.site.yamlfile import line_of

# Version 2 moved the web client's release out of `element:` into `web_client:`, beside
# `web_client.kind` (Element or Cinny): which client and which release of it are one choice.
_MOVED_TO_WEB_CLIENT = ("version", "sha256", "archive")


def _to_2(document: CommentedMap, path: Path) -> list[str]:
    element = document.get("element")
    web_client = document.get("web_client")
    if not isinstance(element, CommentedMap) or not isinstance(web_client, CommentedMap):
        return []
    moved = []
    for key in _MOVED_TO_WEB_CLIENT:
        if key not in element:
            continue
        if key in web_client:
            raise InputError(
                f"{path}: element.{key} and web_client.{key} are both set; since schema 2 "
                f"the release is web_client.{key} only: remove element.{key}"
            )
        web_client[key] = element.pop(key)
        moved.append(key)
    return [f"element.{key} is now web_client.{key}" for key in moved]


def migrate_document(document: CommentedMap, path: Path, *, quiet: bool = False) -> CommentedMap:
    """Bring `document` to the current schema in memory; `wmx config set` saves the result.

    Each version adds one step here and a CHANGELOG entry flagging the change; what a
    step changed is said once on stderr (unless `quiet`) until the file is saved.
    """
    version = document.get("schema_version", SCHEMA_VERSION)
    line = line_of(document, ("schema_version",))
    where = f"{path}:{line}" if line else str(path)
    # `true` is not the schema 1: a bool is an int to Python, never to wmx.
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"{where}: schema_version: must be a whole number ≥ 1")
    if version > SCHEMA_VERSION:
        raise InputError(
            f"{where}: schema_version {version} is newer than this wmx understands "
            f"({SCHEMA_VERSION}); upgrade wmx"
        )
    changes: list[str] = []
    if version < 2:
        changes += _to_2(document, path)
    if version < SCHEMA_VERSION:
        document["schema_version"] = SCHEMA_VERSION
        if not quiet:
            said = f": {'; '.join(changes)}" if changes else ""
            print(
                f"wmx: {path} is schema {version}; read as schema {SCHEMA_VERSION}{said} "
                "(see CHANGELOG.md). `wmx config set` saves it in the new form.",
                file=sys.stderr,
            )
    return document
