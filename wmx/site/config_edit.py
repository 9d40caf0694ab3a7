"""`wmx config get|set`: read and change single settings, keeping comments and order."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from wmx.errors import InputError
from wmx.site import SitePaths, require_settings, require_site
from wmx.site.config_given import given_value_error
from wmx.site.deployed import deployed_server_name
from wmx.site.migrate import migrate_document
from wmx.site.model import SiteConfig
from wmx.site.validation import validate_document
from wmx.site.yaml_depth import load_bounded
from wmx.site.yaml_layout import Layout, before_trailing_comment, layout_of
from wmx.site.yaml_size import MAX_VALUES, too_many_values
from wmx.site.yamlfile import (
    MAX_FILE_BYTES,
    dump_document,
    load_document,
    locked,
    read_text,
    round_trip_yaml,
    write_atomically,
)

# Settings baked into data that cannot be rewritten once the site has been deployed.
IMMUTABLE_AFTER_DEPLOY = {"server_name": "it is part of every user id, room id and signature"}

_QUOTES = ('"', "'")


def _split(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise InputError(f"{key!r} is not a setting name (dotted, such as synapse.log_level)")
    return parts


def _known_keys(model: type[Any] = SiteConfig, prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            keys.extend(_known_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def _unknown_hint(key: str) -> str:
    """The near name, else the settings of the section named, else the sections: a
    line to read, not every one of the hundred-odd names."""
    known = _known_keys()
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    section = key.split(".", 1)[0]
    under = [k for k in known if k.startswith(f"{section}.")]
    if under:
        return f"{section}'s settings: {', '.join(under)}"
    sections = list(SiteConfig.model_fields)
    return f"wmx.yaml's top-level names: {', '.join(sections)} (`wmx config get NAME` prints one)"


def get_value(config: SiteConfig, key: str) -> Any:
    node: Any = config
    for part in _split(key):
        if not isinstance(node, BaseModel) or part not in type(node).model_fields:
            raise InputError(f"unknown setting {key[:80]!r}; {_unknown_hint(key)}")
        node = getattr(node, part)
    # As JSON would hold it: a section, a list of models (irc_bridge.networks), an enum.
    return to_jsonable_python(node)


def parse_value(text: str) -> Any:
    """Read a value the way YAML would in the file: 50 is a number, true a boolean,
    `[a, b]` a list, `{a: 1}` a map, `"…"` a quoted string.

    Text that YAML would read as a string is kept exactly as typed: `a@b.org #x` is that
    whole string (not `a@b.org` and a comment), so what `config set` confirms is what the
    file says. Text YAML cannot read at all is an error, not a guess.
    """
    if "\n" in text or "\r" in text:
        # A multi-line value cannot be confirmed on one line; YAML escapes in double
        # quotes ("a\nb") say exactly what is meant.
        raise InputError(
            f"{text.splitlines()[0]!r}…: a value is one line; write a line break as \\n "
            'inside double quotes ("a\\nb")'
        )
    try:
        value = load_bounded(round_trip_yaml(), text, "the value given")
    except YAMLError as exc:
        cause = getattr(exc, "problem", None) or type(exc).__name__
        raise InputError(
            f"{text!r} is not a value YAML can read ({cause}); put text in quotes: '\"…\"'"
        ) from None
    if value is None:
        return None if text.strip() in {"null", "~"} else text
    if isinstance(value, str) and not text.lstrip().startswith(_QUOTES):
        return text
    if isinstance(value, dict | list) and not text.lstrip().startswith(("{", "[")):
        # `x: y` or `- item` typed on one line means that text; a map or a list is
        # written in flow style: {a: 1}, [a, b].
        return text
    return value


def _merge(node: CommentedMap, values: dict[Any, Any]) -> None:
    """A section given as a map updates the keys it names in place: every other key and
    every comment of the section stays (replacing the section would drop them)."""
    for key, value in values.items():
        current = node.get(key)
        if isinstance(value, dict) and isinstance(current, CommentedMap):
            _merge(current, value)
        else:
            added = key not in node
            node[key] = value
            if added:
                before_trailing_comment(node, key)


def _put(document: CommentedMap, parts: list[str], value: Any, current: SiteConfig) -> None:
    """`value` at `parts` in `document`, making the sections it is under."""
    node = document
    added: tuple[CommentedMap, str] | None = None  # the first key made, once it is whole
    for depth, part in enumerate(parts[:-1], start=1):
        child = node.get(part)
        if child is None:
            if added is None and part not in node:
                added = (node, part)
            child = CommentedMap()
            node[part] = child
        elif not isinstance(child, dict):
            # A section written in a short form (`url_previews: false`): spell it out,
            # keeping the comment that follows it (it introduces the next key) after it.
            child = CommentedMap(get_value(current, ".".join(parts[:depth])))
            following = node.ca.items.pop(part, None)
            node[part] = child
            if following and following[2] is not None and child:
                child.ca.items[list(child)[-1]] = [None, None, following[2], None]
        node = child
    existing = node.get(parts[-1])
    if isinstance(value, dict) and isinstance(existing, CommentedMap):
        _merge(existing, value)
    else:
        if added is None and parts[-1] not in node:
            added = (node, parts[-1])
        node[parts[-1]] = value
    if added:
        before_trailing_comment(*added)


def _read(path: Path) -> tuple[str, Layout, str]:
    """wmx.yaml's text as read, its layout, and the text ruamel is given (no BOM, LF)."""
    before = read_text(path)
    layout, text = layout_of(before)
    return before, layout, text


def _write(path: Path, before: str, after: str) -> None:
    """`after` over wmx.yaml, unless it is what the file holds (nothing changed: the
    file, its time and its inode stay) or more than wmx would read back."""
    if after == before:
        return
    size = len(after.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        # Written, every command (this one too) would refuse the file.
        raise InputError(
            f"{path}: the value would make it {size:,} bytes, over the "
            f"{MAX_FILE_BYTES >> 20} MiB ({MAX_FILE_BYTES:,} bytes) wmx reads of a site "
            f"file; {path.name}: unchanged"
        )
    write_atomically(path, after)


def set_value(
    paths: SitePaths,
    key: str,
    text: str,
    *,
    deployed: bool,
    check: Callable[[SiteConfig], object] | None = None,
) -> SiteConfig:
    """Set `key` to `text`, validate the whole file (and, with `check`, what else the
    new settings must pass), and only then write it, in the file's own layout
    (wmx.site.yaml_layout).

    The read-modify-write holds the site's lock, so parallel runs each see the others'
    edits; the write is atomic and keeps the file's mode (and a symlink).
    """
    parts = _split(key)
    try:
        value = parse_value(text)
    except InputError as exc:
        raise InputError(f"{key}: {exc}") from None
    require_site(paths)
    with locked(paths.config):
        before, layout, lf_text = _read(paths.config)
        loaded = load_document(paths.config, text=lf_text)
        require_settings(loaded, paths.config)
        original = migrate_document(loaded, paths.config, quiet=True)
        current = validate_document(SiteConfig, original, paths.config)
        get_value(current, key)
        # Putting back the deployed name is the one change allowed: it repairs a wmx.yaml
        # edited by hand.
        recorded = deployed_server_name(paths)
        if key in IMMUTABLE_AFTER_DEPLOY and (deployed or recorded) and value != recorded:
            raise InputError(
                f"{key} cannot change after the first deploy: {IMMUTABLE_AFTER_DEPLOY[key]}"
            )
        document = migrate_document(load_document(paths.config, text=lf_text), paths.config)
        _put(document, parts, value, current)
        try:
            config = validate_document(SiteConfig, document, paths.config)
            if check is not None:
                check(config)
        except InputError as exc:  # about the command line's value: no line of the file
            raise given_value_error(exc, paths.config, key) from None
        if too_many_values(document):  # written, every command would refuse the file
            raise InputError(
                f"{paths.config}: the value would give it more than {MAX_VALUES:,} values, "
                f"more than wmx reads of a site file; {paths.config.name}: unchanged"
            )
        dumped = dump_document(document, explicit_null=True, yaml=layout.yaml())
        _write(paths.config, before, layout.written(dumped))
    return config
