"""Site data for Ansible: every string is written with the !unsafe tag, whatever it holds."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import is_trusted_as_template

from wmx.run.unsafe import unsafe_yaml

PROBE = "{{ lookup('pipe', 'touch /tmp/PROBE') }}"


class _TaggedLoader(yaml.SafeLoader):
    """Loads ``!unsafe "x"`` as ``("unsafe", "x")`` and any untagged string as itself, so
    that a test sees which strings carry the tag."""


def _construct_unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> tuple[str, str]:
    assert isinstance(node, yaml.ScalarNode)
    return ("unsafe", str(loader.construct_scalar(node)))


_TaggedLoader.add_constructor("!unsafe", _construct_unsafe)


def load_unsafe_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_TaggedLoader)


HOSTILE = [
    PROBE,
    "{% raw %}x{% endraw %}",
    'it\'s "quoted"',
    "line\nbreak\r\n",
    "nul\x00and\x7fdel\x85nel\u2028ls",
    "tab\there",
    "é中文🙂",
    "x" * 10_000,
    "",
    " leading and trailing ",
    "- not a list",
    "key: not a map",
    "true",
    "1e3",
    "null",
    "~",
    "!unsafe 'nested'",
    "&anchor *alias",
    "# comment",
    "%TAG ! tag:x:",
]


def _load_as_include_vars_does(text: str, tmp_path: Path) -> Any:
    """The file as ansible-core's include_vars reads it: trusted, except what is !unsafe."""
    path = tmp_path / "vars.yml"
    path.write_text(text, encoding="utf-8")
    return DataLoader().load_from_file(str(path), cache="none", trusted_as_template=True)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@pytest.mark.parametrize("text", HOSTILE)
def test_every_string_reaches_ansible_as_the_same_text_never_as_a_template(
    text: str, tmp_path: Path
) -> None:
    variables = {
        "value": text,
        "nested": {"list": [text, {text: text}], text: 1},
        "path": Path("/srv") / "site",
    }
    loaded = _load_as_include_vars_does(unsafe_yaml(variables), tmp_path)
    assert loaded == {
        "value": text,
        "nested": {"list": [text, {text: text}], text: 1},
        "path": "/srv/site",
    }
    for string in _strings(loaded):
        assert isinstance(string, str)
        # A string Ansible would template is one without any template syntax at all.
        assert not is_trusted_as_template(string) or "{" not in string, string


def test_strings_that_look_like_other_types_stay_strings(tmp_path: Path) -> None:
    looks_typed = ["", "true", "no", "0644", "1.10", "1e3", "null", "~", "2024-01-01"]
    text = unsafe_yaml({"values": looks_typed, "modes": {"0644": "0640"}})
    assert _load_as_include_vars_does(text, tmp_path) == {
        "values": looks_typed,
        "modes": {"0644": "0640"},
    }
    # And a template-looking string is always tagged.
    assert load_unsafe_yaml(unsafe_yaml({"t": PROBE})) == {"t": ("unsafe", PROBE)}


def test_other_scalars_keep_their_type() -> None:
    loaded = load_unsafe_yaml(unsafe_yaml({"n": 3, "f": 1.5, "b": True, "z": None, "e": []}))
    assert loaded == {"n": 3, "f": 1.5, "b": True, "z": None, "e": []}


@pytest.mark.parametrize("name", ["bad-name", "1x", "", "x y", "{{ x }}"])
def test_a_variable_name_must_be_an_identifier(name: str) -> None:
    with pytest.raises(TypeError, match="variable name"):
        unsafe_yaml({name: 1})


@pytest.mark.parametrize("value", [{"a", "b"}, object(), math.inf, math.nan, b"bytes"])
def test_values_ansible_cannot_take_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        unsafe_yaml({"value": value})
