"""A value YAML cannot make (an impossible date, `!!int` on what is no integer, an
integer longer than Python writes) in any file of a site is one located line, exit 2,
that never quotes it: ruamel's constructors raise Python's own errors, with the value in
their message and no position, and each had been a traceback (a secret's, whole, from
secrets.yml; a password's from the inventory). A file Ansible reads is read as YAML 1.1
too, as Ansible reads it: Ansible's error had quoted what only that reading refuses."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from typer.testing import CliRunner

from wmx.cli import app
from wmx.errors import InputError
from wmx.site.yaml_depth import ValueNotMade, load_bounded
from wmx.site.yamlfile import parse_yaml

from .test_hostile_files import new_site

runner = CliRunner()
SECRET = "Hunter2Secret9xQ"
_LIMIT = sys.get_int_max_str_digits()

# What each reading refuses, and what its one line says.
BAD_VALUES = [
    (f"!!int {SECRET}", "not an integer"),
    (f"!!float {SECRET}", "not a number"),
    (f"!!bool {SECRET}", "not true or false"),
    (f"!!omap {SECRET}", "not an ordered map"),
    (f"!!int 0b1{SECRET}", "not an integer"),
    ("!!int ''", "not an integer"),
    ("2024-02-30", "not a real date"),
    ("2001-01-01 25:00:00", "not a real date"),
    ("!!timestamp 2001-01-01 00:00:00 +99", "not a real date"),
    ("9" * (_LIMIT + 1), f"more than {_LIMIT:,} digits"),
    ("0x" + "f" * 4000, f"more than {_LIMIT:,} digits"),
]


def _validate(site: Path) -> str:
    """The one line `wmx config validate` refuses the site with, its value never in it."""
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert SECRET not in result.output and "99999999" not in result.output
    assert "ffffffff" not in result.output
    return lines[0]


def _line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


@pytest.mark.parametrize(("value", "says"), BAD_VALUES)
def test_wmx_yaml(tmp_path: Path, value: str, says: str) -> None:
    site = new_site(tmp_path)
    path = site / "wmx.yaml"
    path.write_text(path.read_text() + f"note: {value}\n")
    line = _validate(site)
    assert line.startswith(f"error: {path}:{_line_of(path, f'note: {value}')}: broken YAML: ")
    assert says in line


@pytest.mark.parametrize(("value", "says"), BAD_VALUES)
def test_secrets_yml_says_the_line_only(tmp_path: Path, value: str, says: str) -> None:
    site = new_site(tmp_path)
    path = site / "secrets.yml"
    path.write_text(path.read_text().replace("form_secret: ", f"form_secret: {value} #", 1))
    line = _validate(site)
    at = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "form_secret" in t)
    assert line == f"error: {path}:{at}: broken YAML (cause not shown: secrets)"


@pytest.mark.parametrize(("value", "says"), BAD_VALUES)
def test_inventory_variable(tmp_path: Path, value: str, says: str) -> None:
    site = new_site(tmp_path)
    path = site / "inventory.yml"
    written = f"      ansible_become_password: {value}"
    path.write_text(path.read_text().replace("      memory_mb: 2048\n", f"{written}\n", 1))
    line = _validate(site)
    assert (
        line.startswith(f"error: {path}:{_line_of(path, written)}: broken YAML: ") and says in line
    )


@pytest.mark.parametrize(("value", "says"), BAD_VALUES)
def test_host_vars_file(tmp_path: Path, value: str, says: str) -> None:
    site = new_site(tmp_path)
    (site / "host_vars").mkdir()
    path = site / "host_vars" / "matrix.yml"
    path.write_text(f"ansible_become_password: {value}\n")
    line = _validate(site)
    assert line.startswith(f"error: {path}:1: broken YAML: ") and says in line


@pytest.mark.parametrize("value", ["!!int 0123456789", "!!int 09", "!!int 0_9"])
@pytest.mark.parametrize("place", ["inventory.yml", "group_vars/all.yml"])
def test_what_only_ansibles_yaml_1_1_refuses_is_located_and_not_quoted(
    tmp_path: Path, value: str, place: str
) -> None:
    # YAML 1.2 reads `!!int 09` as 9; Ansible (YAML 1.1) refused it quoting the value.
    site = new_site(tmp_path)
    path = site / place
    written = f"ansible_become_password: {value}"
    if place == "inventory.yml":
        written = f"      {written}"
        path.write_text(path.read_text().replace("      memory_mb: 2048\n", f"{written}\n", 1))
    else:
        path.parent.mkdir()
        path.write_text(f"{written}\n")
    line = _validate(site)
    assert line.startswith(f"error: {path}:{_line_of(path, written)}: broken YAML: ")
    assert "(as Ansible reads it: YAML 1.1)" in line
    assert value.split()[1] not in line


def test_ansibles_reading_is_yaml_1_1_whatever_the_document_says(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    (site / "host_vars").mkdir()
    path = site / "host_vars" / "matrix.yml"
    path.write_text("%YAML 1.2\n---\nansible_become_password: !!int 0123456789\n")
    assert _validate(site).startswith(f"error: {path}:3: broken YAML: not an integer")


def test_ansibles_own_tags_and_yaml_1_1_values_still_pass(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    (site / "group_vars").mkdir()
    (site / "group_vars" / "all.yml").write_text(
        "x_note: !unsafe 'a {{ b }}'\nx_list: !unsafe [a]\nx_time: 1:20\nx_on: yes\nx_oct: 017\n"
    )
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert "broken YAML" not in result.output, result.output


def test_a_warning_of_ruamels_that_quotes_a_value_is_not_shown() -> None:
    # Under `%YAML 1.1`, ruamel warned `Correct your float: "…"` on stderr, value and all
    # (a secret's, in secrets.yml).
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        parse_yaml("%YAML 1.1\n---\na: 1e12345678\n", "f")
        load_bounded(YAML(typ="safe", pure=True), "%YAML 1.1\n---\na: 1e12345678\n", "f")
    assert not [w for w in seen if "12345678" in str(w.message)], seen


def test_a_number_just_short_of_pythons_limit_is_a_number(tmp_path: Path) -> None:
    largest = 10**_LIMIT - 1  # _LIMIT digits: Python writes it
    assert parse_yaml(f"a: {hex(largest)}\n", "f")["a"] == largest
    with pytest.raises(InputError, match=r"^f:1: broken YAML: a number of more than"):
        parse_yaml(f"a: {hex(largest + 1)}\n", "f")


def test_a_value_failing_after_its_collection_began_is_located_too() -> None:
    # A collection is filled in after the document's first pass (ruamel's generators):
    # what fails then is outside any one value's construction, at the node made last.
    class Late(SafeConstructor):
        def construct_late(self, node: Any) -> Any:
            made: list[Any] = []
            yield made
            raise ValueError(f"invalid literal {SECRET!r}")

    Late.add_constructor("!late", Late.construct_late)
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = Late
    with pytest.raises(ValueNotMade) as caught:
        load_bounded(yaml, f"a: 1\nb: !late [x]\nc: {SECRET}\n", "f")
    assert caught.value.problem_mark is not None and caught.value.problem_mark.line in (1, 2)
    assert SECRET not in str(caught.value.problem)


@pytest.mark.parametrize(
    "value", ["{log_level: 2001-02-30}", "0x" + "f" * 5000, "[" + "1," * 3000 + "x"]
)
def test_config_set_says_a_value_it_cannot_read_in_one_short_line(
    tmp_path: Path, value: str
) -> None:
    site = new_site(tmp_path)
    before = (site / "wmx.yaml").read_bytes()
    result = runner.invoke(app, ["--site", str(site), "config", "set", "synapse", value])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 400, lines
    assert (site / "wmx.yaml").read_bytes() == before


def test_a_long_number_where_text_goes_is_not_quoted_whole(tmp_path: Path) -> None:
    # `server_name: 999…` (4000 digits) had made a 4.3 kB error line.
    site = new_site(tmp_path)
    path = site / "wmx.yaml"
    path.write_text(
        path.read_text().replace("server_name: example.test", "server_name: " + "9" * 4000)
    )
    line = _validate(site)
    assert (
        line.endswith(
            "server_name: read by YAML as a number of 4,000 digits, not as text: write it in quotes"
        )
        and len(line) < 300
    ), line
