"""Round-trip YAML: operators' comments and key order survive every edit wmx makes."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.representer import RoundTripRepresenter

from wmx.errors import InputError


def round_trip_yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


class _ExplicitNullRepresenter(RoundTripRepresenter):
    """Writes None as `null` (as wmx.yaml.j2 does) rather than as an empty value, so that
    editing one key of wmx.yaml leaves every other line as it was."""


_ExplicitNullRepresenter.add_representer(
    type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null")
)


def load_document(path: Path) -> CommentedMap:
    """Load a YAML mapping, turning syntax errors into `file:line: cause`."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: not found") from None
    try:
        data = round_trip_yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"{where}: broken YAML: {exc.problem or exc.context}") from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise InputError(f"{path}:1: expected a mapping of settings at the top level")
    return data


def dump_document(data: Any, *, explicit_null: bool = False) -> str:
    yaml = round_trip_yaml()
    if explicit_null:
        yaml.Representer = _ExplicitNullRepresenter
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def line_of(data: Any, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line where the deepest existing part of `loc` is written."""
    line: int | None = None
    node = data
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line
