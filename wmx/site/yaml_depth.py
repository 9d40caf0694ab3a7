"""Every YAML document of a site read so that a value ruamel cannot make is a located
error, and one nested too deeply is said with its line and key.

ruamel's constructors raise Python's own errors (ValueError, KeyError, IndexError,
AttributeError), with no position, for a value that looks like its type but is not one
(`2024-02-30`, `!!int abc`, `!!bool maybe`, `!!omap x`), and for an integer over
Python's limit on digits. Their messages quote the value (a secret's, in secrets.yml or
an inventory's password) and came out as a traceback: here they become a
MarkedYAMLError at the value's line, its cause said without the value, which each
reader's handler of broken YAML words (and hides for secrets.yml).

A file Ansible reads (the inventory, group_vars/, host_vars/) is read again as YAML 1.1,
as Ansible reads it (load_as_ansible): `!!int 09` is 9 to YAML 1.2 but no integer to
YAML 1.1, and Ansible's error quoted it.

ruamel builds a document's nodes recursively: a document nested a few hundred levels
deep (an inventory's chain of groups, `[[[[…]]]]`) exhausts Python's stack, and the
RecursionError carries no position. Its events are made without recursion, so they are
read again to find where the nesting first passes MAX_DEPTH levels (no site file comes
near that; a document that does but still loads is not refused), and under which keys.
"""

from __future__ import annotations

import functools
import sys
import warnings
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError, YAMLFutureWarning, YAMLWarning
from ruamel.yaml.events import (
    CollectionEndEvent,
    CollectionStartEvent,
    MappingStartEvent,
    ScalarEvent,
)
from ruamel.yaml.nodes import MappingNode
from ruamel.yaml.resolver import VersionedResolver

from wmx.errors import InputError

MAX_DEPTH = 64

# What a constructor of ruamel's raises, unmarked, for a value it cannot make. Not
# RecursionError (too_deep words it), nor MemoryError.
_UNMADE = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError)
_TAG = "tag:yaml.org,2002:"
# What each of YAML's own tags makes, as "not …" says it.
_MADE = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "timestamp": "a date",
    "omap": "an ordered map (a list of one-key maps)",
    "set": "a set (a map with no values)",
    "pairs": "a list of pairs",
}


class ValueNotMade(ConstructorError):
    """A value its tag (written, or implied by its form) cannot make: at its line, with a
    cause that quotes nothing of the file."""

    def __init__(self, node: Any, cause: str) -> None:
        super().__init__(None, None, cause, node.start_mark)


def load_bounded(yaml: YAML, text: str, where: str, *, name_keys: bool = True) -> Any:
    """`yaml.load(text)`, with a value ruamel cannot make a ValueNotMade at its line (a
    MarkedYAMLError: the caller words it as broken YAML) and a document nested too deeply
    an InputError (too_deep) rather than a RecursionError: every YAML wmx reads from a
    file of a site or of the command line (wmx.yaml, the inventory and its variable
    files, secrets.yml, a value given to `wmx config set`, a channel list) goes through
    here. YAMLError is the caller's to word."""
    if not getattr(yaml.Constructor, "wmx_located", False):
        yaml.Constructor = _located(yaml.Constructor)
        if hasattr(yaml, "_constructor"):  # made already, of the class replaced
            del yaml._constructor
    try:
        with warnings.catch_warnings():
            # ruamel's warnings quote the value they are about (`Correct your float:
            # "…"`, under `%YAML 1.1`) on stderr: what is wrong is refused as an error.
            warnings.simplefilter("ignore", YAMLWarning)
            warnings.simplefilter("ignore", YAMLFutureWarning)
            return yaml.load(text)
    except RecursionError:
        raise InputError(too_deep(text, where, name_keys=name_keys)) from None
    except _UNMADE as exc:
        # Raised while a collection is filled in after its first value was made: the
        # node made last is where the reading stopped.
        node = getattr(yaml.constructor, "wmx_last", None)
        if node is None:
            raise ConstructorError(None, None, "a value YAML cannot make") from None
        raise ValueNotMade(node, _cause(node, exc)) from None


@functools.cache  # one class for each of ruamel's, not one for each load
def _located(constructor: type[Any]) -> type[Any]:
    """`constructor` with each value it cannot make a ValueNotMade at the value's line,
    and each integer too long to be written as digits refused there too (`0xfff…`: any
    message or check that shows it, str() included, would raise)."""

    class Located(constructor):  # type: ignore[misc]
        wmx_located = True
        wmx_last: Any = None

        def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
            self.wmx_last = node
            try:
                made = super().construct_non_recursive_object(node, tag)
            except _UNMADE as exc:
                raise ValueNotMade(node, _cause(node, exc)) from None
            if isinstance(made, int) and _too_long(made):
                raise ValueNotMade(node, _too_many_digits())
            return made

    return Located


class _AnsibleTags(SafeConstructor):
    """YAML 1.1's values as PyYAML makes them, and a tag of Ansible's (`!vault`,
    `!unsafe`) or any other taken as what it tags: whether such a tag is allowed is
    wmx.site.inventory_shape's to say, with its line."""

    def construct_undefined(self, node: Any) -> Any:
        if isinstance(node.value, str):
            return self.construct_scalar(node)
        if isinstance(node.value, list) and node.value and isinstance(node.value[0], tuple):
            return self.construct_mapping(node)
        return self.construct_sequence(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """The mapping as Ansible gets it, last key winning. A key that is no text (a map:
        `{{ x }}: y` unquoted) is checked by wmx (a variable's name is text, with its
        line), not refused here as ruamel's `found unhashable key`."""
        if not isinstance(node, MappingNode):
            return super().construct_mapping(node, deep=deep)
        self.flatten_mapping(node)
        made: dict[Any, Any] = {}
        for key_node, value_node in [*(getattr(node, "merge", None) or ()), *node.value]:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                key = id(key_node)
            made[key] = self.construct_object(value_node, deep=deep)
        return made


_AnsibleTags.add_constructor(None, _AnsibleTags.construct_undefined)


class _Yaml11(VersionedResolver):
    """YAML 1.1 whatever the document's `%YAML` says: Ansible's PyYAML reads 1.1 only."""

    @property
    def processing_version(self) -> Any:
        return (1, 1)


def load_as_ansible(text: str, where: str) -> None:
    """Read `text` as Ansible will (YAML 1.1): a value that reading cannot make, a
    MarkedYAMLError at its line saying so (its cause quotes nothing of the file)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _AnsibleTags
    yaml.Resolver = _Yaml11
    try:
        load_bounded(yaml, text, where)
    except MarkedYAMLError as exc:
        if exc.problem:  # wmx's own reading (YAML 1.2) had no quarrel with it
            exc.problem = f"{exc.problem} (as Ansible reads it: YAML 1.1)"
        raise


def _too_long(number: int) -> bool:
    """Whether `number` has more digits than Python writes (sys.get_int_max_str_digits)."""
    limit = sys.get_int_max_str_digits()
    # Its bits bound its digits (0.302 of a digit per bit) without writing it.
    return bool(limit) and number.bit_length() * 0.30103 > limit - 1 and abs(number) >= 10**limit


def _too_many_digits() -> str:
    return (
        f"a number of more than {sys.get_int_max_str_digits():,} digits; write it in "
        "quotes if it is text"
    )


def _cause(node: Any, exc: BaseException) -> str:
    """Why `node` could not be made, from its tag and the kind of error alone: the
    error's own message quotes the value."""
    tag = str(getattr(node.tag, "value", node.tag))
    kind = tag[len(_TAG) :] if tag.startswith(_TAG) else ""
    if kind == "timestamp":
        return (
            "not a real date or time (a day, month, hour or offset out of range); write it "
            "in quotes if it is text"
        )
    if kind == "int" and isinstance(exc, ValueError) and _many_digits(node):
        return _too_many_digits()
    made = _MADE.get(kind)
    if made is None:
        return "a value YAML cannot make"
    return f"not {made}, which its tag !!{kind} says it is"


def _many_digits(node: Any) -> bool:
    """Whether `node` is written as more digits than Python reads (its ValueError)."""
    value = getattr(node, "value", None)
    if not isinstance(value, str):
        return False
    digits = value.lstrip("+-").replace("_", "")
    return digits.isdigit() and len(digits) > sys.get_int_max_str_digits() > 0


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
