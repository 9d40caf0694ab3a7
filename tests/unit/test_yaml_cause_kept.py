"""A broken wmx.yaml or inventory is said without the text the parser quotes (a value
may be a password: wmx.site.given.unquoted), but what the parser quotes that is no text
of the file's values, one character or a token's name, is kept: without it the cause of
the commonest mistakes (a tab for indentation, a list left open) is gone."""

from __future__ import annotations

import pytest

from wmx.errors import InputError
from wmx.site.given import unquoted
from wmx.site.yamlfile import parse_yaml


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("a:\n\tb: 1\n", "wmx.yaml:2: broken YAML: found character '\\t' that cannot start"),
        ("key: @x\n", "wmx.yaml:1: broken YAML: found character '@' that cannot start"),
        ("a: [1, 2\nb: 3\n", "wmx.yaml:2: broken YAML: expected ',' or ']', but got ':'"),
        ("a: {b: 1\n", "wmx.yaml:2: broken YAML: expected ',' or '}', but got '<stream end>'"),
        ("- a\nb: 1\n", "wmx.yaml:2: broken YAML: expected <block end>, but found '?'"),
        ('a: "\\q"\n', "wmx.yaml:1: broken YAML: found unknown escape character 'q'"),
    ],
)
def test_what_the_parser_quotes_of_its_own_is_kept(text: str, said: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_yaml(text, "wmx.yaml")
    assert str(caught.value).startswith(said), str(caught.value)


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("found undefined alias 'hunter2'", "found undefined alias …"),
        ("found undefined alias 'ab'", "found undefined alias …"),
        ("the tag '!<scalar>x'", "the tag …"),
        ("'x' is not an e-mail address", "not an e-mail address"),
        *[(f"found character {c}", f"found character {c}") for c in ("'\\t'", "'\\x1b'", '"\'"')],
        ("expected '<block end>', got '<my secret>'", "expected '<block end>', got …"),
    ],
)
def test_unquoted_keeps_only_what_holds_no_value(message: str, said: str) -> None:
    assert unquoted(message) == said
