"""A `#jinja2:` header in an inventory variable is a template too (wmx.site.inventory).

Ansible 2.19 takes a string that starts with `#jinja2:` for a template whatever else it
holds: the header sets the delimiters (`variable_start_string:'[['`), and the rest, with
no `{{` in it, is then templated on the deploying machine
(`[[ lookup('pipe', 'touch …') ]]`). wmx refused only `{{`, `{%` and `{#`. Its rule is
now Ansible's own (_jinja_bits.is_possibly_template), in values, nested values and keys,
of the inventory, group_vars/ and host_vars/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.one_host_inventory import write_inventory
from wmx.errors import InputError
from wmx.site import inventory
from wmx.site.inventory import load_topology

HEADER = "#jinja2:variable_start_string:'[[',variable_end_string:']]'"
PIPE = f"{HEADER}\\n[[ lookup('pipe', 'touch MARKER') ]]"


def _refused(path: Path, where: str) -> str:
    with pytest.raises(InputError) as refused:
        load_topology(path)
    message = str(refused.value)
    assert message.startswith(where), message
    assert "lookup" not in message and "MARKER" not in message and "\n" not in message
    return message


@pytest.mark.parametrize(
    ("extra", "line", "name"),
    [
        (f'      ansible_python_interpreter: "{PIPE}"\n', 5, "ansible_python_interpreter"),
        (f'      memo:\n        - plain\n        - "{PIPE}"\n', 7, "memo"),
        (f'      memo:\n        deep: {{"{PIPE}": x}}\n', 6, "memo"),
        (f'      ansible_become_password: "{PIPE}"\n', 5, "ansible_become_password"),
    ],
)
def test_a_jinja2_header_is_refused_with_its_line(
    tmp_path: Path, extra: str, line: int, name: str
) -> None:
    path = write_inventory(tmp_path, extra)
    message = _refused(path, f"{path}:{line}: hs1.{name}: ")
    assert "#jinja2: header" in message and "value not shown" in message


@pytest.mark.parametrize("where", ["host_vars/hs1.yml", "group_vars/all.yml"])
def test_a_jinja2_header_in_a_variables_file_names_that_file(tmp_path: Path, where: str) -> None:
    path = write_inventory(tmp_path)
    (tmp_path / where).parent.mkdir()
    (tmp_path / where).write_text(f'memo: plain\nansible_python_interpreter: "{PIPE}"\n')
    _refused(path, f"{tmp_path / where}:2: hs1.ansible_python_interpreter: ")


def test_a_jinja2_header_where_wmx_reads_the_value_is_refused(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, f'      ansible_user: "{HEADER}\\nroot"\n')
    with pytest.raises(InputError, match=r":5: hs1.ansible_user: a template"):
        load_topology(path)


# (text, whether it is a template): the header counts only first, and only as written.
SAMPLES = [
    ("#jinja2:", True),
    ("#jinja2:x", True),
    (f"{HEADER}\nplain", True),
    (" #jinja2:x", False),
    ("x#jinja2:", False),
    ("#JINJA2:x", False),
    ("#jinja2 :x", False),
    ("a {{ b }}", True),
    ("{%", True),
    ("{#", True),
    ("{ {", False),
    ("[[ x ]]", False),
    ("plain", False),
]


@pytest.mark.parametrize(("text", "template"), SAMPLES)
def test_the_rule_is_ansibles_own(text: str, template: bool) -> None:
    from ansible._internal._templating._jinja_bits import is_possibly_template

    assert is_possibly_template(text) == template
    assert inventory._is_template(text) == template
    assert inventory._is_template({text: "x"}) == template  # a key
    assert inventory._is_template(["x", {"k": [text]}]) == template
