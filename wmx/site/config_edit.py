"""`wmx config get|set`: read and change single settings, keeping comments and order."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent

from wmx.errors import InputError
from wmx.site import SitePaths, require_settings, require_site
from wmx.site.config_given import given, given_error, given_keys, given_value_error
from wmx.site.deployed import deployed_server_name
from wmx.site.migrate import migrate_document
from wmx.site.model import SiteConfig
from wmx.site.settings.section import example_keys
from wmx.site.validation import validate_document
from wmx.site.yaml_depth import load_bounded
from wmx.site.yaml_layout import Layout, before_trailing_comment, layout_of
from wmx.site.yaml_size import MAX_VALUES, too_many_values
from wmx.site.yamlfile import (
    MAX_FILE_BYTES,
    dump_document,
    line_of,
    load_document,
    locked,
    read_text,
    round_trip_yaml,
    write_atomically,
)

# Settings baked into data that cannot be rewritten once the site has been deployed.
IMMUTABLE_AFTER_DEPLOY = {"server_name": "it is part of every user id, room id and signature"}

_QUOTES = ('"', "'")


# How much of a key or value typed an error quotes: a line's worth (a 5000-character
# value had been quoted whole).
_TYPED_SHOWN = 80


def _typed(text: str) -> str:
    """`text` as typed, quoted and escaped as Python writes it, cut to a line's worth."""
    return repr(text[:_TYPED_SHOWN]) + ("…" if len(text) > _TYPED_SHOWN else "")


def _split(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise InputError(f"{_typed(key)} is not a setting name (dotted, such as synapse.log_level)")
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


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _setting_type(key: str) -> Any:
    """The model's type of the setting `key`: a section's model, str, list[str], …"""
    node: Any = SiteConfig
    for part in _split(key):
        if not _is_section(node) or part not in node.model_fields:
            raise InputError(f"unknown setting {key[:80]!r}; {_unknown_hint(key)}")
        node = node.model_fields[part].annotation
    return node


def _is_text(annotation: Any) -> bool:
    """Whether a setting holds text: str, or str or null (not a choice, not a list)."""
    union = get_origin(annotation) in (Union, UnionType)
    kinds = set(get_args(annotation)) if union else {annotation}
    return str in kinds and kinds <= {str, type(None)}


def get_value(config: SiteConfig, key: str) -> Any:
    node: Any = config
    for part in _split(key):
        if not isinstance(node, BaseModel) or part not in type(node).model_fields:
            raise InputError(f"unknown setting {key[:80]!r}; {_unknown_hint(key)}")
        node = getattr(node, part)
    # As JSON would hold it: a section, a list of models (irc_bridge.networks), an enum.
    return to_jsonable_python(node)


def _yaml_syntax(text: str) -> bool:
    """Whether YAML reads an anchor, an alias or a tag in `text` (`&a x`, `!x y`)."""
    for event in YAML().parse(text):
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            return True
        if getattr(event, "tag", None) is not None:
            return True
    return False


# What opens a quoted scalar or a flow collection in YAML.
_OPENERS = ('"', "'", "[", "{")


def parse_value(text: str, *, text_key: bool = False) -> Any:
    """Read a value the way YAML would in the file: 50 is a number, true a boolean,
    `[a, b]` a list, `{a: 1}` a map, `"…"` a quoted string.

    Text that YAML would read as a string is kept exactly as typed: `a@b.org #x` is that
    whole string (not `a@b.org` and a comment), so what `config set` confirms is what the
    file says. Text YAML cannot read at all is an error, not a guess, except for a
    setting that holds text (`text_key`): there a line without control characters that
    YAML cannot read, or reads as an anchor, alias or tag, is that text (`*-*-* 03:15`,
    the backup schedule wmx's own hint gives, is an undefined alias to YAML). A number,
    a boolean or a date stays what YAML reads, refused with the quotes to write.
    """
    if "\n" in text or "\r" in text:
        # A multi-line value cannot be confirmed on one line; YAML escapes in double
        # quotes ("a\nb") say exactly what is meant.
        raise InputError(
            f"{_typed(text.splitlines()[0])}…: a value is one line; write a line break as \\n "
            'inside double quotes ("a\\nb")'
        )
    # Not a text that opens as YAML's quotes or flow collections do: `"My Chat` is a
    # quote left open, `[Team` a list, typos to refuse rather than store as typed.
    literal = text_key and text.isprintable() and not text.lstrip().startswith(_OPENERS)
    try:
        value = load_bounded(round_trip_yaml(), text, "the value given")
    except YAMLError as exc:
        if literal:
            return text
        cause = getattr(exc, "problem", None) or type(exc).__name__
        raise InputError(
            f"{_typed(text)} is not a value YAML can read ({str(cause)[:120]}); put text in "
            "quotes: '\"…\"'"
        ) from None
    if literal and _yaml_syntax(text):
        return text
    if value is None:
        return None if text.strip() in {"null", "~"} else text
    if isinstance(value, str) and not text.lstrip().startswith(_QUOTES):
        return text
    if isinstance(value, dict | list) and not text.lstrip().startswith(("{", "[")):
        # `x: y` or `- item` typed on one line means that text; a map or a list is
        # written in flow style: {a: 1}, [a, b].
        return text
    if text_key and isinstance(value, dict | list):
        raise InputError(
            f"{_typed(text)} is a {'map' if isinstance(value, dict) else 'list'} to YAML and this "
            "setting holds text; to give it as text, put it in quotes: '\"…\"'"
        )
    return value


def _refuse_single_value(annotation: Any, key: str, value: Any) -> None:
    """A section (here or in a map given) takes a map of its keys, merged in: a single
    value would replace the section's block, every other key of it back to its default
    and its comments gone. So too the short form an old wmx.yaml may hold
    (`url_previews: false`), which the model still reads."""
    if not _is_section(annotation):
        return
    if isinstance(value, dict):
        for name, item in value.items():
            field = annotation.model_fields.get(str(name))
            if field is not None:
                _refuse_single_value(field.annotation, f"{key}.{name}", item)
        return
    if isinstance(value, bool) and "enabled" in annotation.model_fields:
        raise InputError(
            f"{key} is a section; set {key}.enabled {str(value).lower()} (its other keys "
            "keep their values)"
        )
    keys = example_keys(annotation)
    such = " or ".join(f"{key}.{name}" for name in keys)
    raise InputError(
        f"{key} is a section, not a single value: set its keys, such as {such}, or "
        f"several at once as a map ('{{{keys[0]}: …}}')"
    )


def _short(written: Any) -> bool:
    """Whether a section is written in a short form: set, but not as a map."""
    return written is not None and not isinstance(written, CommentedMap)


def _spell_out(node: CommentedMap, key: str, values: dict[str, Any]) -> CommentedMap:
    """`node[key]`, a section written in a short form (`url_previews: false`), as the
    map it means, keeping the comment that follows it (it introduces the next key)."""
    child = CommentedMap(values)
    following = node.ca.items.pop(key, None)
    node[key] = child
    if following and following[2] is not None and child:
        child.ca.items[list(child)[-1]] = [None, None, following[2], None]
    return child


def _merge(node: CommentedMap, values: dict[Any, Any], now: dict[str, Any]) -> None:
    """A section given as a map updates the keys it names in place: every other key and
    every comment of the section stays (replacing the section would drop them). `now`:
    the section's settings as loaded, which a short form is spelled out as."""
    for key, value in values.items():
        current = node.get(key)
        section = now.get(key) if isinstance(key, str) else None
        if isinstance(value, dict) and isinstance(section, dict) and _short(current):
            current = _spell_out(node, key, section)
        if isinstance(value, dict) and isinstance(current, CommentedMap):
            _merge(current, value, section if isinstance(section, dict) else {})
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
            # A section written in a short form (`url_previews: false`): spell it out.
            child = _spell_out(node, part, get_value(current, ".".join(parts[:depth])))
        node = child
    existing = node.get(parts[-1])
    now = get_value(current, ".".join(parts))
    if isinstance(value, dict) and isinstance(now, dict) and _short(existing):
        existing = _spell_out(node, parts[-1], now)
    if isinstance(value, dict) and isinstance(existing, CommentedMap):
        _merge(existing, value, now if isinstance(now, dict) else {})
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
    require_site(paths)
    try:  # every refusal says the value was the command line's, and nothing was written
        annotation = _setting_type(key)
        try:
            value = parse_value(text, text_key=_is_text(annotation))
        except InputError as exc:
            raise InputError(f"{key}: {exc}") from None
        _refuse_single_value(annotation, key, value)
    except InputError as exc:
        raise given_error(exc, paths.config) from None
    parts = _split(key)
    with locked(paths.config):
        before, layout, lf_text = _read(paths.config)
        loaded = load_document(paths.config, text=lf_text)
        require_settings(loaded, paths.config)
        original = migrate_document(loaded, paths.config, quiet=True)
        current = validate_document(SiteConfig, original, paths.config)
        # Putting back the deployed name is the one change allowed: it repairs a wmx.yaml
        # edited by hand.
        recorded = deployed_server_name(paths)
        if key in IMMUTABLE_AFTER_DEPLOY and (deployed or recorded) and value != recorded:
            raise InputError(
                given(
                    f"{key} cannot change after the first deploy: {IMMUTABLE_AFTER_DEPLOY[key]}",
                    paths.config,
                )
            )
        document = migrate_document(load_document(paths.config, text=lf_text), paths.config)
        _put(document, parts, value, current)
        try:
            config = validate_document(SiteConfig, document, paths.config)
            if check is not None:
                check(config)
        except InputError as exc:  # the value refused, by whichever rule (config_given)
            own = {line_of(document, tuple(parts[:depth])) for depth in range(1, len(parts) + 1)}
            lines = {line for line in own if line is not None}
            keys = given_keys(key, value)
            raise given_value_error(exc, paths.config, key, text, lines, keys) from None
        if too_many_values(document):  # written, every command would refuse the file
            raise InputError(
                f"{paths.config}: the value would give it more than {MAX_VALUES:,} values, "
                f"more than wmx reads of a site file; {paths.config.name}: unchanged"
            )
        dumped = dump_document(document, explicit_null=True, yaml=layout.yaml())
        _write(paths.config, before, layout.written(dumped))
    return config
