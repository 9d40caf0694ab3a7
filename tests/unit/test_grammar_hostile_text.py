"""Text of wmx.yaml that a field trimmed instead of refusing, or that shows as other text
than it is (wmx/site/grammars.py and the settings that use it):

- a line break, tab or other control character around or inside a value is refused with
  wmx.yaml's line and the key, never trimmed into a value that passes (`"192.0.2.1\\n"`,
  `"daily\\r\\n"`, `"v1.11.100\\n"`, `"\\t"` as an empty URL);
- the characters that reorder how text is shown (bidirectional marks, embeddings,
  overrides and isolates) are refused in free text (`element.brand`);
- a value beginning with a `#jinja2:` header is template syntax, as Ansible 2.19 reads it
  (is_possibly_template), and is refused like `{{`.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.unit.test_hostile_input import Case, _edit
from tests.unit.test_hostile_input import (
    test_input_error_is_one_line_exit_2_and_writes_nothing as check_case,
)
from wmx.cli import app
from wmx.site import grammars
from wmx.site.calendar import check_calendar
from wmx.site.grammars import check_host_or_ip, check_host_port, check_text, https_url
from wmx.site.releases import DEFAULT_RELEASES

runner = CliRunner()

# Where each field is in a new site's wmx.yaml, and its default as written there.
FIELDS = {
    "turn.external_ip": ("  external_ip: null", "  external_ip: {}"),
    "synapse.email.smtp_host": ('    smtp_host: ""', "    smtp_host: {}"),
    "monitoring.smtp.smarthost": ('    smarthost: ""', "    smarthost: {}"),
    "backup.schedule": ("  schedule: daily", "  schedule: {}"),
    "backup.repositories": ("  repositories: []", "  repositories: [{}]"),
    "web_client.version": ("  version: null", "  version: {}"),
    "web_client.sha256": ("  sha256: null", "  sha256: {}"),
    "element.element_call_url": ('  element_call_url: ""', "  element_call_url: {}"),
    "element.identity_server": ('  identity_server: ""', "  identity_server: {}"),
    "irc_bridge.networks": ("        - irc.libera.chat:6697:tls", "        - {}"),
    "element.brand": ("  brand: Element", "  brand: {}"),
}

TRIMMED = [
    ("turn.external_ip", r'"192.0.2.1\n"'),
    ("turn.external_ip", r'"\t192.0.2.1"'),
    ("synapse.email.smtp_host", r'"192.0.2.1\n\t"'),
    ("synapse.email.smtp_host", r'"smtp.example.org\n"'),
    ("monitoring.smtp.smarthost", r'"192.0.2.1:25\n"'),
    ("backup.repositories", r'"borg@backup.example.org:repo\n"'),
    ("backup.schedule", r'"*-*-*\n03:15"'),
    ("backup.schedule", r'"daily\r\n"'),
    # the pinned release, which needs no sha256: trimmed, it had passed
    ("web_client.version", f'"v{DEFAULT_RELEASES["element"][0]}\\n"'),
    ("web_client.sha256", '"' + "a" * 64 + r'\n"'),
    ("element.element_call_url", r'"\t"'),
    ("element.identity_server", r'"https://id.example.org\n"'),
    ("irc_bridge.networks", r'"irc.oftc.net:6697:tls\n"'),
    ("element.brand", r'"Team\u202eChat"'),
    ("element.brand", r'"Team\u2066Chat\u2069"'),
    ("element.brand", r'"Team\u200fChat"'),
    ("element.brand", "\"#jinja2:variable_start_string:'[['\""),
]


def _case(key: str, value: str) -> Case:
    old, new = FIELDS[key]
    # The error names the key, or for a list's item the list with its index.
    return Case(
        f"{key}={value}", _edit("wmx.yaml", old, new.format(value)), ("config", "validate"),
        ("wmx.yaml:", key),
    )  # fmt: skip


@pytest.mark.parametrize(("key", "value"), TRIMMED, ids=[f"{k}-{v}" for k, v in TRIMMED])
def test_a_control_or_direction_character_is_refused_with_line_and_key(
    site_dir: object, key: str, value: str
) -> None:
    check_case(site_dir, _case(key, value))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (check_host_or_ip, "192.0.2.1\n"),
        (check_host_or_ip, "\t2001:db8::1"),
        (check_host_or_ip, "example.org\u202e"),
        (check_host_port, "192.0.2.1:25\n"),
        (check_host_port, "smtp.example.org:587\r"),
        (https_url, "\t"),
        (https_url, "\n"),
        (https_url, "https://example.org/\n"),
        (check_calendar, "daily\n"),
        (check_calendar, "Mon\t02:30"),
    ],
)
def test_grammars_refuse_rather_than_trim(check: object, value: str) -> None:
    with pytest.raises(ValueError, match="control or text-direction character"):
        check(value)  # type: ignore[operator]


def test_spaces_alone_are_still_trimmed_and_an_empty_url_is_none() -> None:
    assert check_host_or_ip(" 192.0.2.1 ") == "192.0.2.1"
    assert https_url("") == "" and https_url("  ") == ""
    assert check_host_port(" smtp.example.org:587 ") == "smtp.example.org:587"
    assert check_calendar("  Mon..Fri   02:30 ") == "Mon..Fri 02:30"


@pytest.mark.parametrize(
    "char", ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
             "\u2066", "\u2067", "\u2068", "\u2069"],
)  # fmt: skip
def test_every_direction_character_is_refused_in_free_text(char: str) -> None:
    with pytest.raises(ValueError, match="text-direction") as caught:
        check_text(f"Team{char}Chat", "brand name")
    assert char not in str(caught.value)  # shown escaped, never applied to the line
    with pytest.raises(ValueError, match="text-direction"):
        grammars.no_control(f"a{char}", "name")


def test_other_scripts_are_still_free_text() -> None:
    for text in ("Équipe", "チャット", "שיחה", "دردشة", "Team 💬"):
        assert check_text(text, "brand name") == text


def test_set_refuses_a_direction_override_and_leaves_wmx_yaml(site_dir: object) -> None:
    from pathlib import Path

    config = Path(str(site_dir)) / "wmx.yaml"
    before = config.read_bytes()
    args = ["--site", str(site_dir), "config", "set", "element.brand", "a\u202eb"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "element.brand" in result.stderr and "\u202e" not in result.stderr
    assert config.read_bytes() == before


# --- `#jinja2:` is template syntax ---------------------------------------------------------

TEMPLATE_SAMPLES = [
    "#jinja2:variable_start_string:'[[',variable_end_string:']]'\n[[ lookup('pipe','id') ]]",
    "#jinja2:trim_blocks:False",
    "#jinja2:",
    "{{ x }}",
    "a {% if %}",
    "{# c #}",
    "# jinja2: not a header",
    "x #jinja2:later",
    "#Jinja2:case",
    "Team chat",
    "#team",
    "",
]


@pytest.mark.parametrize("value", TEMPLATE_SAMPLES)
def test_template_syntax_is_what_ansible_takes_for_a_template(value: str) -> None:
    """wmx's check (grammars._TEMPLATE) and Ansible's own (is_possibly_template, with its
    default delimiters) agree on every sample."""
    from ansible._internal._templating._jinja_bits import is_possibly_template

    assert bool(grammars._TEMPLATE.search(value)) == is_possibly_template(value), value


@pytest.mark.parametrize("value", ["#jinja2:trim_blocks:False", "#jinja2:x [[ 7*7 ]]"])
def test_free_text_that_begins_with_a_jinja2_header_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="#jinja2:"):
        check_text(value, "brand name")
