"""Where a host's variable is set: the file and line of the YAML node Ansible reads it from.

A message about a host's variable (a template, a placeholder address, a key file that is
not on this machine) names `file:line`. The line is found in the loaded documents (their
nodes keep their lines: wmx.site.yamlfile.line_of), never by searching the text: a text
search finds the same key of another host, a commented-out line, or misses a key in a
flow mapping (`matrix: {ansible_host: …}`).

The places are tried in Ansible's order of precedence, the strongest first: the host's
file(s) under host_vars/, the host's entries in the inventory, the files under
group_vars/ of its groups, its groups' `vars` in the inventory, group_vars/all, `all.vars`
(within one of those, the later node). With `wanted`, the strongest node whose value it
accepts is named (the value Ansible gave may be checked that way), else the strongest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from wmx.errors import InputError
from wmx.site.inventory_shape import vars_files
from wmx.site.yaml_scalars import written
from wmx.site.yamlfile import line_of, load_document, read_site_bytes, read_text

Loc = tuple[Any, ...]
# A place: (precedence tier, the file, its document, the path to the variable's key).
Place = tuple[int, Path, CommentedMap, Loc]
HOST_FILE, INVENTORY_HOST, GROUP_FILE, INVENTORY_GROUP, ALL_FILE, INVENTORY_ALL = range(6)
_RANGE = re.compile(r"\[[^\]]*\]")


def variable_line(
    inventory: Path,
    host: str,
    groups: Iterable[str] | None,
    key: str,
    wanted: Callable[[Any], bool] | None = None,
) -> str:
    """`file:line` where `host`'s variable `key` is set (see the module's text), or the
    inventory when no place sets it. `groups`: the host's; None: every group's `vars`
    count (with `wanted` matching the value Ansible gave)."""
    return variable_written(inventory, host, groups, key, wanted)[0]


def variable_written(
    inventory: Path,
    host: str,
    groups: Iterable[str] | None,
    key: str,
    wanted: Callable[[Any], bool] | None = None,
) -> tuple[str, str | None]:
    """variable_line's `file:line`, and the value there as it is written when it is a
    plain scalar (wmx.site.yaml_scalars.written), else None."""
    places = _places(inventory, host, None if groups is None else set(groups), key)
    if not places:
        return str(inventory), None
    chosen = places[0]
    if wanted is not None:
        chosen = next((p for p in places if wanted(_value(p))), chosen)
    _, file, document, loc = chosen
    if wanted is not None:
        loc = _inside(document, loc, wanted)
    line = line_of(document, loc)
    try:
        text = written(read_text(file), document, loc, check=False)
    except InputError:
        text = None
    return (f"{file}:{line}" if line else str(file)), text


def _value(place: Place) -> Any:
    node: Any = place[2]
    for part in place[3]:
        node = node[part]
    return node


def _inside(document: CommentedMap, loc: Loc, wanted: Callable[[Any], bool]) -> Loc:
    """The path to the first key or item inside the value at `loc` that `wanted` accepts
    by itself (a template nested in a mapping: its own line), else `loc`."""
    node: Any = document
    for part in loc:
        node = node[part]
    while isinstance(node, CommentedMap | CommentedSeq):
        items = node.items() if isinstance(node, CommentedMap) else enumerate(node)
        step = next(((k, v) for k, v in items if wanted(k) or wanted(v)), None)
        if step is None:
            break
        loc, node = (*loc, step[0]), step[1]
        if isinstance(node, CommentedMap | CommentedSeq) and wanted(step[0]):
            break  # the key itself is what `wanted` is about
    return loc


def _names(entry: str, host: str) -> bool:
    """Whether an inventory host entry is `host`: its name, or a range (`web[01:03]`)
    that holds it (its shape and its bounds: `w[01:02]` holds w02, not w03)."""
    if entry == host:
        return True
    if "[" not in entry:
        return False
    pattern, ranges = "", []
    for text, bounds in zip(_RANGE.split(entry), [*_RANGE.findall(entry), ""], strict=True):
        pattern += re.escape(text)
        if bounds:
            pattern += f"({_range_pattern(bounds[1:-1])})"
            ranges.append(bounds[1:-1])
    found = re.fullmatch(pattern, host)
    return found is not None and all(
        _within(bounds, value) for bounds, value in zip(ranges, found.groups(), strict=True)
    )


def _within(bounds: str, value: str) -> bool:
    """Whether `value` is one of the range's (`01:03`, `1:10:2`, `a:f`)."""
    parts = bounds.split(":")
    start, end = parts[0], parts[1] if len(parts) > 1 else parts[0]
    step = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
    if start.isdigit() and end.isdigit():
        number = int(value)
        return int(start) <= number <= int(end) and (number - int(start)) % max(step, 1) == 0
    if len(start) == 1 and len(end) == 1:
        return start <= value <= end and (ord(value) - ord(start)) % max(step, 1) == 0
    return True  # a range Ansible itself would refuse: its shape is all there is to go on


def _range_pattern(bounds: str) -> str:
    """What a range `[01:03]`, `[1:10:2]` or `[a:f]` stands for, as Ansible expands it: a
    number (zero-padded to the start's width when the start is) or one letter."""
    start = bounds.split(":")[0]
    if start.isdigit():
        return rf"[0-9]{{{len(start)}}}" if start.startswith("0") else "[0-9]+"
    return "[A-Za-z]"


def _member(group: str, groups: set[str] | None) -> bool:
    return groups is None or group in groups


def _places(inventory: Path, host: str, groups: set[str] | None, key: str) -> list[Place]:
    places: list[Place] = []
    try:
        document = load_document(inventory)
    except InputError:
        document = CommentedMap()

    def walk(name: str, group: Any, loc: Loc) -> None:
        if not isinstance(group, dict):
            return
        hosts = group.get("hosts")
        if isinstance(hosts, dict):
            for entry, values in hosts.items():
                if _names(str(entry), host) and isinstance(values, dict) and key in values:
                    places.append(
                        (INVENTORY_HOST, inventory, document, (*loc, "hosts", entry, key))
                    )
        values = group.get("vars")
        if isinstance(values, dict) and key in values:
            tier = INVENTORY_ALL if name == "all" else INVENTORY_GROUP
            if name == "all" or _member(name, groups):
                places.append((tier, inventory, document, (*loc, "vars", key)))
        children = group.get("children")
        if isinstance(children, dict):
            for child, sub in children.items():
                walk(str(child), sub, (*loc, "children", child))

    for name, group in document.items():
        walk(str(name), group, (name,))
    for file in vars_files(inventory):
        root = next(p for p in file.parents if p.parent == inventory.parent)
        first = file.relative_to(root).parts[0]
        owner = first.rsplit(".", 1)[0] if first.endswith((".yml", ".yaml", ".json")) else first
        if root.name == "host_vars":
            tier = HOST_FILE if owner == host else None
        else:
            tier = ALL_FILE if owner == "all" else GROUP_FILE if _member(owner, groups) else None
        if tier is None:
            continue
        try:
            if read_site_bytes(file).startswith(b"$ANSIBLE_VAULT"):
                continue
            data = load_document(file)
        except InputError:
            continue
        if key in data:
            places.append((tier, file, data, (key,)))
    # Within one tier the later node wins (Ansible reads the documents in order).
    ranked = list(enumerate(places))
    ranked.sort(key=lambda item: (item[1][0], -item[0]))
    return [place for _, place in ranked]


def entry_line(inventory: Path, name: str, section: str) -> str:
    """`file:line` of the first entry `name` in a group's `section` of the inventory:
    "hosts" (a host; a range of its shape too), "children" (a group, or a group at the top
    level), else the inventory."""
    try:
        document = load_document(inventory)
    except InputError:
        return str(inventory)
    if section == "children" and name in document:
        line = line_of(document, (name,))
        return f"{inventory}:{line}" if line else str(inventory)
    walk: list[tuple[Any, Loc]] = [(document, ())]  # breadth first: the outer groups first
    while walk:
        node, loc = walk.pop(0)
        for group, body in node.items() if isinstance(node, dict) else ():
            here = (*loc, group)
            entries = body.get(section) if isinstance(body, dict) else None
            for entry in entries if isinstance(entries, dict) else ():
                if _names(str(entry), name) if section == "hosts" else str(entry) == name:
                    line = line_of(document, (*here, section, entry))
                    return f"{inventory}:{line}" if line else str(inventory)
            children = body.get("children") if isinstance(body, dict) else None
            if isinstance(children, dict):
                walk.append((children, (*here, "children")))
    return str(inventory)


def member_line(inventory: Path, group: str, host: str) -> str:
    """`file:line` of `host`'s entry in group `group`: where the inventory puts it there,
    so that a rule about one group's host names the line to change, not the host's own
    entry under `all` nor the group's. That is the host among the group's `hosts` (a
    range of its shape too), else the group's `children` entry that brings it in, else
    the group's entry, else the inventory."""
    try:
        document = load_document(inventory)
    except InputError:
        return str(inventory)
    places = _group_places(document, group)

    def at(loc: Loc) -> str:
        line = line_of(document, loc)
        return f"{inventory}:{line}" if line else str(inventory)

    for loc, body in places:
        for entry in _section(body, "hosts"):
            if _names(str(entry), host):
                return at((*loc, "hosts", entry))
    for loc, body in places:
        for child in _section(body, "children"):
            if _holds(document, str(child), host, {group}):
                return at((*loc, "children", child))
    return entry_line(inventory, group, "children")


def _section(body: Any, section: str) -> list[Any]:
    entries = body.get(section) if isinstance(body, dict) else None
    return list(entries) if isinstance(entries, dict) else []


def _group_places(document: CommentedMap, group: str) -> list[tuple[Loc, Any]]:
    """Every place the inventory writes group `group` (Ansible merges them): at the top
    level or among some group's children, the outer ones first."""
    found: list[tuple[Loc, Any]] = []
    walk: list[tuple[Any, Loc]] = [(document, ())]
    while walk:
        node, loc = walk.pop(0)
        for name, body in node.items() if isinstance(node, dict) else ():
            here = (*loc, name)
            if str(name) == group:
                found.append((here, body))
            children = body.get("children") if isinstance(body, dict) else None
            if isinstance(children, dict):
                walk.append((children, (*here, "children")))
    return found


def _holds(document: CommentedMap, group: str, host: str, seen: set[str]) -> bool:
    """Whether group `group` holds `host`, itself or through its children (`seen`: the
    groups already on the way, so that a loop, refused elsewhere, ends here too)."""
    if group in seen:
        return False
    seen = seen | {group}
    for _, body in _group_places(document, group):
        if any(_names(str(entry), host) for entry in _section(body, "hosts")):
            return True
        if any(_holds(document, str(child), host, seen) for child in _section(body, "children")):
            return True
    return False
