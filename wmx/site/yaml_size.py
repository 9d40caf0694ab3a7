"""How many values a site's YAML document may hold, its aliases expanded."""

from __future__ import annotations

from typing import Any

# No site file holds more values; aliases (`*a`) could make billions of a few lines,
# which every later walk (validation, Ansible, a template check) would go through.
MAX_VALUES = 100_000


def too_many_values(data: Any) -> bool:
    """Whether `data` holds more than MAX_VALUES values, its aliases expanded."""
    count = 0
    stack = [data]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_VALUES:
            return True
        if isinstance(node, dict):
            stack += node.keys()
            stack += node.values()
        elif isinstance(node, list):
            stack += node
    return False
