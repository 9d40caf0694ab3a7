"""Site data for Ansible: every string is written with the !unsafe tag, whatever it holds."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

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


def _plain_strings(value: Any, top: bool = True) -> list[str]:
    """Every string that is not tagged (top-level keys are variable names, not data)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return []
    if isinstance(value, dict):
        found = [] if top else [k for k in value if isinstance(k, str)]
        for item in value.values():
            found += _plain_strings(item, top=False)
        return found
    if isinstance(value, list):
        return [s for item in value for s in _plain_strings(item, top=False)]
    return []


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


@pytest.mark.parametrize("text", HOSTILE)
def test_every_string_round_trips_with_the_unsafe_tag(text: str) -> None:
    variables = {
        "value": text,
        "nested": {"list": [text, {text: text}], text: 1},
        "path": Path("/srv") / "site",
    }
    loaded = load_unsafe_yaml(unsafe_yaml(variables))
    assert _plain_strings(loaded) == []
    assert loaded["value"] == ("unsafe", text)
    assert loaded["nested"][("unsafe", "list")] == [
        ("unsafe", text),
        {("unsafe", text): ("unsafe", text)},
    ]
    assert loaded["nested"][("unsafe", text)] == 1
    assert loaded["path"] == ("unsafe", "/srv/site")


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
