"""The shape of a YAML inventory and of its variable files, checked before Ansible
reads them.

Ansible's YAML inventory plugin skips what it cannot use (a group that is not a mapping,
a key other than hosts, children and vars, a section that is a list) with a warning on
stderr and goes on: a typo then silently drops a host or a group, and its warning lands
beside wmx's own error about what is missing. A site is untrusted input, so wmx refuses
each of those with its file, line and key, the rules being the plugin's own. The files
of group_vars/ and host_vars/ are read first too: Ansible would name the inventory for
a broken one, or a type of its own for one that is not a mapping.
"""

from __future__ import annotations

import os
import re
import stat
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from ruamel.yaml.comments import CommentedMap

from wmx.errors import InputError
from wmx.site.inventory_cache import VARS_DIRS, tree_files
from wmx.site.yamlfile import (
    line_of,
    link_out,
    load_document,
    read_site_bytes,
    refuse_link_out,
)

# The one inventory plugin that reads a site's inventory, in wmx and in a deploy's Ansible
# (wmx.run.environment: ANSIBLE_INVENTORY_ENABLED): data only, never a program.
YAML_PLUGIN = "yaml"
_SECTIONS = ("hosts", "children", "vars")
# Ansible's rule for group names (ansible.constants.INVALID_VARIABLE_NAMES): it warns
# about any other name and keeps it, so refuse it here.
_BAD_GROUP_NAME = re.compile(r"^[\d\W]|[^\w]")


# The tags Ansible's YAML loader reads besides YAML's own; `!!python/…` and any other
# would be Ansible's error naming the inventory rather than the file and line.
_ANSIBLE_TAGS = ("!vault", "!unsafe")


def check_tags(path: Path, document: Any) -> None:
    """Refuse a tag Ansible cannot read, with the file and the line of its key (the
    document's size with its aliases expanded is bounded by load_document)."""
    stack: list[tuple[Any, int | None]] = [(document, None)]
    while stack:
        node, line = stack.pop()
        tag = getattr(getattr(node, "tag", None), "value", None) or ""
        python = tag.startswith("tag:yaml.org,2002:python/")
        if (
            tag
            and (python or not tag.startswith("tag:yaml.org,2002:"))
            and tag not in _ANSIBLE_TAGS
        ):
            where = f"{path}:{line}" if line else str(path)
            raise InputError(
                f"{where}: the YAML tag {tag[:60]!r} is not one Ansible reads (!vault, !unsafe)"
            )
        if isinstance(node, CommentedMap):
            stack += [(v, line_of(node, (k,)) or line) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [(v, line_of(node, (i,)) or line) for i, v in enumerate(node)]


def check_not_program(path: Path) -> None:
    """Refuse an inventory whose first line is `#!`: a YAML comment, but the first line of
    a script, which Ansible's `script` inventory plugin (enabled by default) runs when
    the file is executable, as `ansible-inventory -i` or an operator's own playbook run
    would. wmx reads it with the YAML plugin alone; this keeps anyone else from running it
    too (a mode is not kept by every copy, the first line is)."""
    if read_site_bytes(path, limit=16).removeprefix(b"\xef\xbb\xbf").startswith(b"#!"):
        raise InputError(
            f"{path}:1: a `#!` line, the start of a program: Ansible runs an executable "
            "inventory that starts so, and wmx's is data only; remove the line"
        )


def check_shape(path: Path, document: CommentedMap) -> None:
    """Raise InputError (file:line: key: cause) at the first part Ansible would skip."""
    check_tags(path, document)
    for name, group in document.items():
        _check_group(path, document, (str(name),), group)
    check_group_loops(path, document)


def check_group_loops(path: Path, document: CommentedMap) -> None:
    """A group among its own children (a's children hold b, b's hold a): Ansible's error
    names neither file nor line. Said at the children entry that closes the loop."""
    edges: dict[str, list[tuple[str, tuple[str, ...]]]] = {"all": []}
    walk: list[tuple[str, Any, tuple[str, ...]]] = [
        (str(name), group, (str(name),)) for name, group in document.items()
    ]
    edges["all"] += [(name, loc) for name, _, loc in walk if name != "all"]  # implicit
    while walk:
        name, group, loc = walk.pop()
        children = group.get("children") if isinstance(group, dict) else None
        for child, sub in children.items() if isinstance(children, dict) else ():
            where = (*loc, "children", str(child))
            edges.setdefault(name, []).append((str(child), where))
            walk.append((str(child), sub, where))
    done: set[str] = set()
    for start in list(edges):
        if start in done:
            continue
        path_to = [start]  # the groups from `start` down to the one being read
        stack = [(start, iter(edges.get(start, ())))]
        while stack:
            node, ahead = stack[-1]
            step = next(ahead, None)
            if step is None:
                done.add(node)
                stack.pop()
                path_to.pop()
                continue
            child, at = step
            if child in path_to:
                loop = " → ".join([*path_to[path_to.index(child) :], child])
                _fail(
                    path,
                    document,
                    at,
                    f"group {child!r} is among its own children ({loop}): Ansible refuses a "
                    "loop of groups; remove one of these children entries",
                )
            if child not in done:
                stack.append((child, iter(edges.get(child, ()))))
                path_to.append(child)


def vars_files(inventory: Path) -> list[Path]:
    """The files of group_vars/ and host_vars/ beside `inventory` that Ansible's
    host_group_vars plugin may read: not hidden, no `~` backup, a YAML or JSON name."""
    found = []
    for name in VARS_DIRS:
        root = inventory.parent / name
        if not root.is_dir():
            continue
        for file in tree_files(root, inventory.parent):
            parts = file.relative_to(root).parts
            if any(p.startswith(".") for p in parts) or file.name.endswith("~"):
                continue  # Ansible skips hidden files and backups
            if file.suffix in ("", ".yml", ".yaml", ".json"):
                found.append(file)
    return found


def check_vars_files(inventory: Path) -> None:
    """Every file Ansible's host_group_vars plugin may read beside `inventory` is YAML
    (or JSON) holding a mapping. A vault-encrypted one is passed over here and refused,
    naming it, by the check of variable names (wmx.site.inventory_names), which runs
    next on the same read."""
    check_vars_links(inventory)
    site = inventory.parent
    for file in vars_files(inventory):
        if read_site_bytes(file, within=site).startswith(b"$ANSIBLE_VAULT"):
            continue
        document = load_document(file, within=site, ansible=True)
        check_tags(file, document)
        for key in document:
            if not isinstance(key, str):
                line = line_of(document, (key,))
                where = f"{file}:{line}" if line else str(file)
                raise InputError(f"{where}: a variable's name is text, not {_kind(key)}")


def check_vars_links(inventory: Path) -> None:
    """Refuse a file or directory of group_vars/ or host_vars/ (or either itself) that a
    symbolic link takes out of the site (`inventory`'s directory): Ansible would read it
    and wmx copy its values into the site's cache, whatever its name (a host's file may
    be `host_vars/matrix.example.org`). A hidden one is left alone, as Ansible leaves it;
    a FIFO or device is refused for what it is (read_site_bytes never reads it)."""
    site = inventory.parent
    for name in VARS_DIRS:
        root = site / name
        if not os.path.lexists(root):
            continue
        for entry in tree_files(root, site):
            if any(part.startswith(".") for part in entry.relative_to(root).parts):
                continue
            if link_out(entry, site) is None:
                continue
            try:
                mode: int | None = os.stat(entry).st_mode
            except OSError:  # dangling, or a place wmx may not look at (/proc/1/root)
                mode = None
            if mode is None or stat.S_ISDIR(mode) or stat.S_ISREG(mode):
                refuse_link_out(entry, site)
            read_site_bytes(entry, limit=0, within=site)  # a FIFO, a device: says which


def _fail(path: Path, document: CommentedMap, loc: tuple[str, ...], cause: str) -> NoReturn:
    line = line_of(document, loc)
    where = f"{path}:{line}" if line else str(path)
    key = ".".join(loc)
    raise InputError(f"{where}: {key if key.isprintable() else repr(key)}: {cause}")


def _kind(value: object) -> str:
    if isinstance(value, Mapping | list | tuple):  # ruamel's keys: CommentedKey{Map,Seq}
        return "a mapping" if isinstance(value, Mapping) else "a list"
    return f"{value!r}"[:40]


# A site's hosts; `web[0:999999]` would have Ansible make a million before anything else.
MAX_HOSTS = 1000
_NUMBER = re.compile(
    r"[0-9]{1,18}"
)  # ASCII digits: int() would take other scripts' digits or `1_0` too
_RANGE_FORM = "a host range is [begin:end] or [begin:end:step]"


def _range_size(pattern: str) -> int:
    """How many hosts Ansible's range syntax (`web[01:50]`, `db-[a:f]`, `[1:9:2]`) makes
    of a host name; 1 for a plain name. Read as Ansible's expand_hostname_range reads it,
    which raises Python's own ValueError (a traceback) for `[1:3:0]` or `[a:9]`, and
    silently makes no host of `[3:1]`: each is a ValueError here saying what is wrong."""
    size = 1
    while "[" in pattern:
        # Ansible's split: the first `[`, then the first `]`, as `|`.
        parts = pattern.replace("[", "|", 1).replace("]", "|", 1).split("|")
        if len(parts) != 3:
            raise ValueError(f"{_RANGE_FORM}, one ] after each [ and no |")
        head, bounds, tail = parts
        count, first = _one_range(bounds.split(":"))
        size *= count
        pattern = head + first + tail  # every host of the range has the same rest
    return size


def _one_range(bounds: list[str]) -> tuple[int, str]:
    """The number of hosts of one range's `begin:end[:step]`, and the first one's text."""
    if len(bounds) not in (2, 3):
        raise ValueError(f"{_RANGE_FORM}")
    begin, end = bounds[0] or "0", bounds[1]
    step = bounds[2] if len(bounds) == 3 else "1"
    if not _NUMBER.fullmatch(step) or int(step) < 1:
        raise ValueError(f"{_RANGE_FORM}, its step a whole number from 1")
    letters = string.ascii_letters
    if len(begin) == len(end) == 1 and begin in letters and end in letters:
        first, last = letters.index(begin), letters.index(end)
    elif _NUMBER.fullmatch(begin) and _NUMBER.fullmatch(end):
        if begin[0] == "0" and len(begin) != len(end) and len(begin) > 1:
            raise ValueError(f"{_RANGE_FORM}, begin and end of one length when padded (01:50)")
        first, last = int(begin), int(end)
    else:
        raise ValueError(
            f"{_RANGE_FORM} from a number to a number (01:50) or a letter to a letter (a:f)"
        )
    if first > last:
        raise ValueError(f"{_RANGE_FORM} with begin <= end (Ansible would make no host)")
    return len(range(first, last + 1, int(step))), begin


def _check_group(path: Path, document: CommentedMap, loc: tuple[str, ...], group: Any) -> None:
    if _BAD_GROUP_NAME.search(loc[-1]):
        _fail(
            path,
            document,
            loc,
            "not a group name (letters, digits and _, not starting with a digit)",
        )
    if group is None:
        return
    if not isinstance(group, dict):
        _fail(
            path,
            document,
            loc,
            f"a group is a mapping of hosts, children and vars (or empty), not {_kind(group)}",
        )
    for key in group:
        if key not in _SECTIONS:
            _fail(
                path, document, (*loc, str(key)), "unknown key: a group holds hosts, children, vars"
            )
        section = group[key]
        # A name alone stands for one entry with nothing under it (as Ansible reads it).
        if key != "vars" and isinstance(section, str):
            section = {section: None}
        if section is None:
            continue
        if not isinstance(section, dict):
            _fail(
                path, document, (*loc, key), f"must be a mapping (or empty), not {_kind(section)}"
            )
        for entry, value in section.items():
            if key == "hosts":
                try:
                    size = _range_size(str(entry))
                except ValueError as exc:
                    _fail(path, document, (*loc, key, str(entry)), str(exc))
                if size > MAX_HOSTS:
                    _fail(
                        path,
                        document,
                        (*loc, key, str(entry)),
                        f"a host range of {size:,} hosts; wmx takes at most "
                        f"{MAX_HOSTS} (Ansible would make every one before reading on)",
                    )
            if key == "children":
                _check_group(path, document, (*loc, key, str(entry)), value)
            elif key == "hosts" and not isinstance(value, dict | None):
                _fail(
                    path,
                    document,
                    (*loc, key, str(entry)),
                    f"a host's variables are a mapping (or empty), not {_kind(value)}",
                )
