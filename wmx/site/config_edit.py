"""`wmx config get|set`: read and change single settings, keeping comments and order."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from ruamel.yaml.comments import CommentedMap

from wmx.errors import InputError
from wmx.site import SitePaths
from wmx.site.migrate import migrate_document
from wmx.site.model import SiteConfig
from wmx.site.validation import validate_document
from wmx.site.yamlfile import dump_document, load_document, round_trip_yaml, write_atomically

# Settings baked into data that cannot be rewritten once the site has been deployed.
IMMUTABLE_AFTER_DEPLOY = {"server_name": "it is part of every user id, room id and signature"}


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


def get_value(config: SiteConfig, key: str) -> Any:
    node: Any = config
    for part in _split(key):
        if not isinstance(node, BaseModel) or part not in type(node).model_fields:
            raise InputError(f"unknown setting {key!r}; known: {', '.join(_known_keys())}")
        node = getattr(node, part)
    if hasattr(node, "model_dump"):
        return node.model_dump(mode="json")
    return node.value if hasattr(node, "value") else node


def parse_value(text: str) -> Any:
    """Read a value the way YAML would in the file: 50 is a number, true a boolean."""
    value = round_trip_yaml().load(text)
    return text if value is None and text != "null" else value


def set_value(paths: SitePaths, key: str, text: str, *, deployed: bool) -> SiteConfig:
    """Set `key` to `text`, validate the whole file, and only then write it."""
    parts = _split(key)
    current = validate_document(SiteConfig, load_document(paths.config), paths.config)
    get_value(current, key)
    if deployed and key in IMMUTABLE_AFTER_DEPLOY:
        raise InputError(
            f"{key} cannot change after the first deploy: {IMMUTABLE_AFTER_DEPLOY[key]}"
        )
    document = migrate_document(load_document(paths.config), paths.config)
    node = document
    for depth, part in enumerate(parts[:-1], start=1):
        child = node.get(part)
        if child is None:
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
    node[parts[-1]] = parse_value(text)
    config = validate_document(SiteConfig, document, paths.config)
    write_atomically(paths.config, dump_document(document, explicit_null=True))
    return config
