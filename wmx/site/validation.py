"""Turn pydantic's errors into lines an operator can act on: file, line, key, what is allowed."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from wmx.errors import InputError, printable
from wmx.site.yaml_scalars import not_text, quote_advice, written
from wmx.site.yamlfile import line_of, read_text

M = TypeVar("M", bound=BaseModel)
_LONG_QUOTE = re.compile(r"(['\"])([^'\"\n]{60})[^'\"\n]{20,}\1")


def cross_field(key: str, message: str) -> PydanticCustomError:
    """The error of a rule across settings, for a model validator to raise. `key` is the
    setting to change, dotted and relative to the model that raises it: loading names the
    line where it is written (or, when it is not, its nearest written parent) instead of
    the whole model's. A message that starts with the key is not prefixed with it again."""
    return PydanticCustomError("cross_field", "{message}", {"key": key, "message": message})


def _located(error: Any) -> tuple[Any, ...]:
    """Where an error points: pydantic's location, and for a cross-field rule the key it
    names below it."""
    loc = tuple(error["loc"])
    if error["type"] == "cross_field":
        loc += tuple(str(error["ctx"]["key"]).split("."))
    return loc


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, itself or inside list[…], … | None and the like."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _known_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the model allows where `loc` points (list indexes skipped)."""
    node: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = node.model_fields.get(str(part)) if node else None
        node = _model_in(field.annotation) if field else None
        if node is None:
            return []
    return list(node.model_fields) if node else []


def _describe(error: Any, model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        loc = tuple(error["loc"])
        known = _known_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        if close:
            return f"unknown key; did you mean {close[0]!r}?"
        listed = f"; known here: {', '.join(known)}" if known else ""
        return f"unknown key (check its spelling{listed})"
    if kind == "missing":
        return "required, but not set"
    if kind in {"literal_error", "enum"}:
        message = f"must be one of {error.get('ctx', {}).get('expected', '')}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    # A validator quotes the value it refuses: never more than a line's worth of it.
    message = _LONG_QUOTE.sub(lambda m: f"{m[1]}{m[2]}…{m[1]}", message)
    given = error.get("input")
    # Echo what was written when it is a plain scalar (wmx.yaml holds no secrets).
    if isinstance(given, str | int | float | bool) and repr(given)[:80] not in message:
        shown = repr(given)
        message += f" (got {shown[:80]}{'…' if len(shown) > 80 else ''})"
    return message


def _shown_key(part: object) -> str:
    """A key as an error shows it: on one line (a line break or a control or bidi
    character escaped) and at most 64 characters."""
    text = str(part)
    if text.isprintable() and len(text) <= 64:
        return text
    escaped = printable(text[:64])
    return "'" + escaped + ("…" if len(text) > 64 else "") + "'"


def validate_document(model: type[M], data: Any, path: Path) -> M:
    """Validate `data` (a round-trip YAML mapping read from `path`) as `model`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = _located(error)
            key = ".".join(_shown_key(p) for p in loc) or "(top level)"
            line = line_of(data, loc)
            where = f"{path}:{line}" if line else str(path)
            message = _describe(error, model)
            if error["type"] == "string_type" and not_text(error.get("input")):
                # An unquoted number or date where text is meant (wmx.site.yaml_scalars).
                try:
                    source: str | None = read_text(path)
                except InputError:  # not written yet: wmx init validates before it writes
                    source = None
                as_written = None if source is None else written(source, data, loc)
                message = quote_advice(error["input"], as_written)
            said = message if message.startswith(key) else f"{key}: {message}"
            lines.append(f"{where}: {said}")
        raise InputError(lines) from None
