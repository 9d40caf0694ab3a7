"""Text a site file means as text, which YAML reads as something else.

An unquoted scalar that looks like a number, a boolean or a date is not text to YAML:
`1.160` is the number 1.16, `1_00` is 100, `0o17` and `0x1F` are 15 and 31, `.inf` is
infinity, `2026-01-01` a date. wmx reads wmx.yaml as YAML 1.2, where `yes`, `no`, `on`,
`off` and `1:20` stay text; Ansible reads the inventory as YAML 1.1, where `no` and `off`
are false, `017` is 15 and `1:20` is 80. Where wmx expects text and such a value comes,
the setting is refused with its line, the text as written and the quotes that keep it
(docs/site-input.md): the value as read (16 for 017) is never what was meant, and the
reader (Ansible, for the inventory) would use it.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

# A plain scalar that is no text: up to a comment, a flow indicator or the line's end;
# after its anchor (`&user no`: the quotes go around `no`, the anchor stays outside).
_PLAIN = re.compile(r"(?:&[^\s,\[\]{}]+\s+)?([^\s#,\[\]{}]+(?: [^\s#,\[\]{}]+)*)")


def not_text(value: Any) -> bool:
    """Whether `value` is what YAML made of an unquoted number, boolean or date."""
    return isinstance(value, bool | int | float | datetime.date | datetime.time)


def written(text: str, document: Any, loc: tuple[Any, ...], *, check: bool = True) -> str | None:
    """The scalar at `loc` of `document` (loaded from `text`) as it is written; None when
    it cannot be found (a key wmx moved, an alias, a value not from `text`: `wmx config
    set`'s). With `check`, what is found must read back as the value (YAML 1.2)."""
    parent: Any = None
    node: Any = document
    try:
        for part in loc:
            parent, node = node, node[part]
        if isinstance(parent, CommentedMap):
            line, column = parent.lc.value(loc[-1])
        elif isinstance(parent, CommentedSeq):
            line, column = parent.lc.item(loc[-1])
        else:
            return None
        found = _PLAIN.match(text.splitlines()[line][column:])
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    # Longer, it is not quoted whole in a message (a line's worth at most), and a part of
    # it in quotes would be wrong advice.
    if not found or len(found[1]) > _SHOWN:
        return None
    if check:
        from wmx.errors import InputError
        from wmx.site.yamlfile import parse_yaml

        try:
            again = parse_yaml(f"- {found[1]}\n", "")
        except InputError:
            return None
        if not isinstance(again, list) or again[0] != node or type(again[0]) is not type(node):
            return None
    return found[1]


# The most of a value written out in a message; a 4000-digit `server_name` had made a
# 4.3 kB error line.
_SHOWN = 80
_DIGITS_SHOWN = 40


def _number(value: int | float) -> str:
    """`the number 1.16`, or for a long one `a number of 4,000 digits`."""
    try:
        shown = str(value)
    except ValueError:  # over Python's limit on digits (sys.get_int_max_str_digits)
        return "a number of thousands of digits"
    if len(shown) <= _DIGITS_SHOWN:
        return f"the number {shown}"
    return f"a number of {len(shown.lstrip('-')):,} digits"


def quote_advice(value: Any, as_written: str | None, reader: str = "YAML") -> str:
    """`1.160 is read by YAML as the number 1.16, not as text: write it in quotes ("1.160")`."""
    if isinstance(value, bool):
        what = str(value).lower()
    elif isinstance(value, int | float):
        what = _number(value)
    elif isinstance(value, datetime.datetime | datetime.date):
        what = "a date"
    else:
        what = "a time"
    if as_written is None:
        return f"read by {reader} as {what}, not as text: write it in quotes"
    return (
        f"{as_written} is read by {reader} as {what}, not as text: write it in quotes "
        f'("{as_written}")'
    )
