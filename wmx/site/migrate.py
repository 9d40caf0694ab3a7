"""Schema versions of wmx.yaml: read old ones, refuse newer ones with a clear message."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from wmx.errors import InputError
from wmx.site.model import SCHEMA_VERSION


def migrate_document(document: CommentedMap, path: Path) -> CommentedMap:
    """Bring `document` to the current schema in memory; `wmx config set` saves the result.

    Version 1 is the first schema, so there is nothing to convert yet; each future
    version adds one step here and a CHANGELOG entry flagging the change.
    """
    version = document.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version < 1:
        raise InputError(f"{path}: schema_version: must be a whole number ≥ 1")
    if version > SCHEMA_VERSION:
        raise InputError(
            f"{path}: schema_version {version} is newer than this wmx understands "
            f"({SCHEMA_VERSION}); upgrade wmx"
        )
    return document
