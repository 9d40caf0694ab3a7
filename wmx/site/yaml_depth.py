"""Where a YAML document nests too deeply: its line and key, for the one-line error.

ruamel builds a document's nodes recursively: a document nested a few hundred levels
deep (an inventory's chain of groups, `[[[[…]]]]`) exhausts Python's stack, and the
RecursionError carries no position. Its events are made without recursion, so they are
read again to find where the nesting first passes MAX_DEPTH levels (no site file comes
near that; a document that does but still loads is not refused), and under which keys.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    CollectionEndEvent,
    CollectionStartEvent,
    MappingStartEvent,
    ScalarEvent,
)

from wmx.errors import InputError

MAX_DEPTH = 64


def load_bounded(yaml: YAML, text: str, where: str, *, name_keys: bool = True) -> Any:
    """`yaml.load(text)`, a document nested too deeply an InputError (too_deep) rather
    than a RecursionError: every YAML wmx reads from a file of a site or of the command
    line (secrets.yml, a value given to `wmx config set`, a channel list) goes through
    here. YAMLError is the caller's to word."""
    try:
        return yaml.load(text)
    except RecursionError:
        raise InputError(too_deep(text, where, name_keys=name_keys)) from None


def too_deep(text: str, where: str, *, name_keys: bool = True) -> str:
    """`where:line: broken YAML: nested too deeply …` naming the key (its parent's too)
    whose value passes MAX_DEPTH levels (or, when the stack ran out sooner, the deepest
    one); `where` alone when the events cannot be read either. Without `name_keys` no
    key is named (secrets.yml: a key written in a flow may be a secret's value)."""
    # One entry per open collection: [is a mapping, the key being read or None, next is
    # a key]; a mapping's events alternate key, value.
    stack: list[list[object]] = []
    deepest: tuple[int, int, list[str]] = (0, 0, [])  # depth, line, keys
    try:
        for event in YAML().parse(text):
            if isinstance(event, CollectionStartEvent):
                if len(stack) >= deepest[0]:
                    keys = [str(k)[:40] for _, k, _ in stack if k is not None][-2:]
                    if len(stack) > deepest[0]:
                        deepest = (len(stack), event.start_mark.line + 1, keys)
                    if len(stack) >= MAX_DEPTH:
                        break
                _value_read(stack)
                stack.append([isinstance(event, MappingStartEvent), None, True])
            elif isinstance(event, CollectionEndEvent):
                stack.pop()
            elif isinstance(event, ScalarEvent) and stack:
                mapping, _, key_next = stack[-1]
                if mapping and key_next:
                    stack[-1][1:] = [event.value, False]
                else:
                    _value_read(stack)
    except (YAMLError, IndexError):
        pass
    depth, line, keys = deepest
    if not line:
        return f"{where}: broken YAML: nested too deeply"
    at = f" under {'.'.join(keys)!r}" if keys and name_keys else ""
    return f"{where}:{line}: broken YAML: nested too deeply (level {depth + 1} here){at}"


def _value_read(stack: list[list[object]]) -> None:
    """A value of the innermost mapping was read: a key comes next."""
    if stack and stack[-1][0]:
        stack[-1][2] = True
