"""The layout of a hand-written YAML file that an edit (`wmx config set`) keeps in the lines
it does not change: a UTF-8 BOM, CRLF line endings, the indentation of mappings and of
block sequences, long lines, and comments that end a section.

ruamel keeps comments, order and quoting, but writes one indentation and one line ending
of its own choosing and drops a BOM: a file indented by 4, or saved on Windows, had every
line rewritten by an edit of one. Only the edit's round trip uses this; loading to
validate is wmx.site.yamlfile's, unchanged.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.tokens import CommentToken

from wmx.site.yamlfile import round_trip_yaml

_BOM = "\ufeff"
# No line is wrapped: ruamel wraps at `width`, and a long flow list split in two is a
# line the edit did not change rewritten.
_NO_WRAP = 1 << 30
# `key:` alone on its line (its value a block below), and `- ` opening a sequence item.
_KEY_ONLY = re.compile(r"^( *)[^\s#'\"-][^:#]*:\s*(#.*)?$")
_ITEM = re.compile(r"^( *)- +(?=[^\s#])")


@dataclass(frozen=True)
class Layout:
    """How a file is written: BOM, CRLF throughout, and ruamel's indent() arguments."""

    bom: bool = False
    crlf: bool = False
    mapping: int = 2
    sequence: int = 4
    offset: int = 2

    def yaml(self) -> YAML:
        yaml = round_trip_yaml()
        yaml.indent(mapping=self.mapping, sequence=self.sequence, offset=self.offset)
        yaml.width = _NO_WRAP
        return yaml

    def written(self, text: str) -> str:
        """ruamel's output (LF, no BOM) as this file writes it."""
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return _BOM + text if self.bom else text


def layout_of(text: str) -> tuple[Layout, str]:
    """The file's layout, and its text as ruamel is given it (no BOM, LF). CRLF is kept
    only when every line ends so: a file of mixed endings is written with LF."""
    bom = text.startswith(_BOM)
    text = text.removeprefix(_BOM)
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    text = text.replace("\r\n", "\n")
    return Layout(bom, crlf, *_indents(text)), text


def _indents(text: str) -> tuple[int, int, int]:
    """ruamel's (mapping, sequence, offset) for this text: the mapping step most blocks
    use (a file indented by 2 with one section by 4 keeps the 2), the first block
    sequence's. Not ruamel.yaml.util.load_yaml_guess_indent: with a block sequence in the
    file, it gives the sequence's indent (4 for `  - x`) as the mappings' one."""
    steps: list[int] = []
    sequence: tuple[int, int] | None = None
    parent: int | None = None  # the column of a `key:` line just read
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        column = len(line) - len(line.lstrip(" "))
        item = _ITEM.match(line)
        if parent is not None and item and sequence is None and column >= parent:
            sequence = (item.end() - parent, column - parent)  # `- ` at the key's column too
        elif parent is not None and not item and column > parent:
            steps.append(column - parent)
        key = _KEY_ONLY.match(line[item.end() :] if item else line)
        parent = (item.end() if item else column) if key else None
    mapping = Counter(steps).most_common(1)[0][0] if steps else 2
    seq, offset = sequence or (mapping + 2, mapping)
    return mapping, max(seq, offset + 2), offset


def before_trailing_comment(node: CommentedMap, key: Any) -> None:
    """`key`, just added as the last of `node`, goes before the comment lines that ended
    the section (ruamel keeps them with the last value before it: a new key landed after
    `# trailing comment`, or after a column-0 comment introducing the next section)."""
    keys = list(node)
    if len(keys) < 2 or keys[-1] != key:
        return
    old_holder, old_at = _last_entry(node, keys[-2])
    old = old_holder.ca.items.get(old_at)
    slot = 0 if isinstance(old_holder, CommentedSeq) else 2
    token = old[slot] if old else None
    if not isinstance(token, CommentToken) or "\n" not in token.value:
        return
    own, rest = token.value.split("\n", 1)
    if not rest:
        return
    # The old last value keeps its end-of-line comment; the lines after it follow the new.
    token.value = own + "\n"
    if not own:
        old[slot] = None
    new_holder, new_at = _last_entry(node, key)
    new_slot = 0 if isinstance(new_holder, CommentedSeq) else 2
    entry = new_holder.ca.items.setdefault(new_at, [None, None, None, None])
    entry[new_slot] = CommentToken("\n" + rest, token.start_mark, None)


def _last_entry(node: CommentedMap | CommentedSeq, at: Any) -> tuple[Any, Any]:
    """The collection and key (or index) of the last value written under `node[at]`: where
    ruamel keeps the comment lines after it. A flow or empty collection is one line."""
    value = node[at]
    while isinstance(value, CommentedMap | CommentedSeq) and value and not value.fa.flow_style():
        node, at = value, (len(value) - 1 if isinstance(value, CommentedSeq) else list(value)[-1])
        value = node[at]
    return node, at
