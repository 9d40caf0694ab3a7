"""Site data for Ansible as text that is never templated.

Every value wmx hands to a playbook (role vars, the manifest, the steps of the plan,
extra vars) comes from a site that many people edit, so a string such as
``{{ lookup('pipe', '…') }}`` in ``wmx.yaml`` must reach Ansible as that text, never
as a template. wmx writes such data as YAML in which **every string, keys included,
carries the ``!unsafe`` tag**: Ansible loads those strings as unsafe (untrusted, in
ansible-core 2.19's data tagging) and never evaluates them, however a task or a role
default refers to them. Loading vars.json with ``include_vars`` would not do: Ansible
trusts what that module reads as it trusts playbook content.

The emitter is PyYAML's, so quoting and escaping are the YAML library's, not ours; the
top-level keys are variable names and are checked to be identifiers instead of tagged.

One exception, because of how ansible-core 2.19 reads the tag: it resolves the type of an
``!unsafe`` scalar as if the scalar were plain, so ``!unsafe ""`` would load as None,
``!unsafe "true"`` as a bool and ``!unsafe "0644"`` as an int. A string that would
resolve to another type that way is written as an ordinary quoted string instead: it
cannot hold a template (no YAML boolean, number, null or date contains ``{``), and it
stays a string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Unsafe(str):
    """A string the dumper writes as ``!unsafe "…"``."""


class _UnsafeDumper(yaml.SafeDumper):
    pass


_STR = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()


def _represent_unsafe(dumper: yaml.SafeDumper, value: _Unsafe) -> yaml.ScalarNode:
    text = str(value)
    if _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) != _STR:  # type: ignore[no-untyped-call]
        return dumper.represent_scalar(_STR, text, style='"')
    return dumper.represent_scalar("!unsafe", text, style='"')


_UnsafeDumper.add_representer(_Unsafe, _represent_unsafe)


def _tag(value: object, where: str) -> object:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where}: {value!r} cannot be passed to Ansible")
        return value
    if isinstance(value, str):
        return _Unsafe(value)
    if isinstance(value, Path):
        return _Unsafe(str(value))
    if isinstance(value, Mapping):
        return {_tag_key(k, where): _tag(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tag(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where}: a {type(value).__name__} cannot be passed to Ansible")


def _tag_key(key: object, where: str) -> object:
    if isinstance(key, str):
        return _Unsafe(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    raise TypeError(f"{where}: a {type(key).__name__} key cannot be passed to Ansible")


def unsafe_yaml(variables: Mapping[str, Any]) -> str:
    """``variables`` as a YAML document of Ansible variables whose strings are all unsafe.

    Raises TypeError for a variable name that is not an identifier or a value that is
    not JSON-like (None, bool, int, finite float, str, Path, list, tuple, mapping).
    """
    document: dict[str, object] = {}
    for name, value in variables.items():
        if not isinstance(name, str) or not _VAR_NAME.fullmatch(name):
            raise TypeError(f"{name!r} is not a variable name Ansible accepts")
        document[name] = _tag(value, name)
    text = yaml.dump(
        document,
        Dumper=_UnsafeDumper,
        sort_keys=False,
        allow_unicode=True,
        width=2**31 - 1,
        explicit_start=True,
    )
    return str(text)
