"""Turn pydantic's errors into lines an operator can act on: file, line, key, what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from wmx.errors import InputError
from wmx.site.yamlfile import line_of

M = TypeVar("M", bound=BaseModel)


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (check its spelling; `wmx config get` lists what exists)"
    if kind == "missing":
        return "required, but not set"
    if kind in {"literal_error", "enum"}:
        message = f"must be one of {error.get('ctx', {}).get('expected', '')}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    # Echo what was written when it is a plain scalar (wmx.yaml holds no secrets).
    if isinstance(given, str | int | float | bool) and repr(given) not in message:
        message += f" (got {given!r})"
    return message


def validate_document(model: type[M], data: Any, path: Path) -> M:
    """Validate `data` (a round-trip YAML mapping read from `path`) as `model`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            key = ".".join(str(p) for p in loc) or "(top level)"
            line = line_of(data, loc)
            where = f"{path}:{line}" if line else str(path)
            lines.append(f"{where}: {key}: {_describe(error)}")
        raise InputError("\n".join(lines)) from None
