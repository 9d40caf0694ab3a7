"""A loop of inventory groups, and a site file nested too deeply, are one line naming the
file, the line and the group (or key), exit status 2: Ansible's "creates a recursive
dependency loop" and ruamel's RecursionError named neither line nor, for the depth, key."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmx.site.inventory_shape import check_shape
from wmx.site.yamlfile import load_document

from .test_fields_inventory_lines import _line, _refused, site

__all__ = ["site"]  # the fixture


def _add_groups(site: Path, text: str) -> Path:
    """`text` appended under all.children (indented four spaces)."""
    path = site / "inventory.yml"
    path.write_text(path.read_text() + text)
    return path


LOOPS = [
    # Two groups, each among the other's children.
    (
        "    a:\n      children:\n        b:\n    b:\n      children:\n        a:\n",
        "a:",
        2,
        "a → b → a",
    ),
    # One group among its own.
    ("    a:\n      children:\n        a:\n", "a:", 2, "a → a"),
    # Three, written nested.
    (
        "    a:\n      children:\n        b:\n          children:\n            c:\n"
        "              children:\n                a:\n",
        "a:",
        2,
        "a → b → c → a",
    ),
]


@pytest.mark.parametrize(("groups", "marker", "nth", "loop"), LOOPS)
def test_a_loop_of_groups_names_file_line_and_group(
    site: Path, groups: str, marker: str, nth: int, loop: str
) -> None:
    path = _add_groups(site, groups)
    line = _refused(site)
    assert line.startswith(f"{path}:{_line(path, marker, nth)}: "), line
    assert f"group 'a' is among its own children ({loop})" in line, line


def test_a_group_in_two_parents_is_no_loop(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(
        "all:\n  children:\n    a:\n      children:\n        c:\n"
        "    b:\n      children:\n        c:\n          hosts:\n            h:\n"
    )
    check_shape(path, load_document(path))


def test_groups_nested_too_deeply_name_the_line_and_group(site: Path) -> None:
    path = site / "inventory.yml"
    chain = "".join(f"{'    ' * (i + 1)}g{i}:\n{'    ' * (i + 1)}  children:\n" for i in range(150))
    path.write_text(path.read_text() + chain)
    line = _refused(site)
    assert line.startswith(
        f"{path}:{_line(path, 'g31:')}: broken YAML: nested too deeply (level 65 here)"
    ), line
    assert "under 'g30.children'" in line, line


def test_a_settings_file_nested_too_deeply_has_its_line(site: Path) -> None:
    path = site / "wmx.yaml"
    path.write_text(path.read_text() + "extra:\n  deep: " + "[" * 2000 + "]" * 2000 + "\n")
    line = _refused(site)
    where = f"{path}:{_line(path, 'deep:')}: broken YAML: nested too deeply"
    assert line.startswith(where) and "under 'extra.deep'" in line, line


def test_a_stack_that_ran_out_sooner_names_the_deepest_line() -> None:
    from wmx.site.yaml_depth import too_deep

    text = "a:\n  b:\n    c: [[1]]\n  d: 2\n"
    assert (
        too_deep(text, "f.yml")
        == "f.yml:3: broken YAML: nested too deeply (level 5 here) under 'b.c'"
    )
    assert too_deep("- [", "f.yml").startswith("f.yml")
