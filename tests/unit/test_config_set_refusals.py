"""Every refusal of `wmx config set KEY VALUE` says the value was given on the command line
and that wmx.yaml is unchanged, whichever rule refused it, in one line; and a setting
that holds text takes a line YAML cannot read as that text.

A rule across keys (turn's port range, retention's bounds, the web client's checksum)
cited a line of wmx.yaml that did not hold the refused value, without saying that
nothing was written. `wmx config set backup.schedule "*-*-* 03:15"`, the example wmx's
own hint gives, was "not a value YAML can read (found undefined alias …)"."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.site import SitePaths, load_config

runner = CliRunner()
SHA256 = "0123456789abcdef" * 4


def _set(site: Path, key: str, value: str) -> Any:
    return runner.invoke(app, ["--site", str(site), "config", "set", key, value])


def _ok(site: Path, key: str, value: str) -> None:
    result = _set(site, key, value)
    assert result.exit_code == 0, result.stderr


def _refused(site: Path, key: str, value: str) -> str:
    before = (site / "wmx.yaml").read_bytes()
    result = _set(site, key, value)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: given on the command line: "), result.stderr
    assert result.stderr.endswith("; wmx.yaml: unchanged\n"), result.stderr
    assert (site / "wmx.yaml").read_bytes() == before
    return str(result.stderr)


def _line_of(site: Path, text: str) -> int:
    lines = (site / "wmx.yaml").read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.strip() == text)


def test_a_rule_with_another_key_keeps_that_keys_line(site_dir: Path) -> None:
    _ok(site_dir, "turn.relay_min_port", "60000")
    said = _refused(site_dir, "turn.relay_max_port", "50000")
    line = _line_of(site_dir, "relay_min_port: 60000")
    assert said == (
        "error: given on the command line: turn.relay_max_port 50000 is refused: "
        f"{site_dir}/wmx.yaml:{line}: turn.relay_min_port (60000) is above "
        "turn.relay_max_port (50000); wmx.yaml: unchanged\n"
    )


def test_a_map_given_is_blamed_only_for_the_keys_it_names(site_dir: Path) -> None:
    # The section's other key, which the map did not name, keeps its wmx.yaml line.
    _ok(site_dir, "turn.relay_min_port", "60000")
    said = _refused(site_dir, "turn", "{relay_max_port: 50000}")
    line = _line_of(site_dir, "relay_min_port: 60000")
    assert said == (
        "error: given on the command line: turn {relay_max_port: 50000} is refused: "
        f"{site_dir}/wmx.yaml:{line}: turn.relay_min_port (60000) is above "
        "turn.relay_max_port (50000); wmx.yaml: unchanged\n"
    )


def _web_client_pinned(site: Path) -> None:
    _ok(site, "web_client", f"{{version: 1.12.30, sha256: {SHA256}}}")


def _min_lifetime(site: Path) -> None:
    _ok(site, "synapse.retention.allowed_min_lifetime", "30d")


@pytest.mark.parametrize(
    ("prepare", "key", "value", "says"),
    [
        (
            _min_lifetime,
            "synapse.retention.allowed_max_lifetime",
            "7d",
            "synapse.retention.allowed_max_lifetime 7d is refused: synapse.retention: "
            "retention.allowed_min_lifetime (30d) is longer than "
            "retention.allowed_max_lifetime (7d)",
        ),
        (
            _web_client_pinned,
            "web_client.sha256",
            "null",
            "web_client.sha256 null is refused: web_client.version 1.12.30 needs web_client.sha256",
        ),
        (
            lambda site: None,
            "web_client",
            "{version: 1.12.30}",
            "web_client.version 1.12.30 needs web_client.sha256",
        ),
    ],
)
def test_a_rule_of_the_section_above_names_no_line(
    site_dir: Path, prepare: Callable[[Path], None], key: str, value: str, says: str
) -> None:
    prepare(site_dir)
    said = _refused(site_dir, key, value)
    assert f"given on the command line: {says}" in said
    assert not re.search(r"wmx\.yaml:\d", said)


def test_a_rule_across_wmx_yaml_and_the_inventory_is_said_so_too(site_dir: Path) -> None:
    inventory = site_dir / "inventory.yml"
    text = inventory.read_text()
    host = re.search(r"^  hosts:\n    (\S+):\n", text, re.M)
    assert host is not None
    other = "    other:\n      ansible_host: 192.0.2.77\n      memory_mb: 2048\n"
    text = text.replace(host.group(0), host.group(0).replace("  hosts:\n", f"  hosts:\n{other}"))
    text = re.sub(r"(    turn:\n      hosts:\n        )\S+:", r"\1other:", text)
    inventory.write_text(text)
    _ok(site_dir, "turn.tls", "false")
    said = _refused(site_dir, "turn.tls", "true")
    assert said.startswith("error: given on the command line: turn.tls")
    assert "coturn on other" in said


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("backup.schedule", "*-*-* 03:15"),
        ("backup.schedule", "Mon..Fri *-*-* 02:30"),
        ("element.brand", "*Chat*"),
        ("element.brand", "&team chat"),
        ("element.brand", "!important chat"),
        ("element.brand", "@home"),
        ("element.brand", "%chat"),
        ("element.brand", "`chat`"),
        ("login.button_label", "*Wiki* account"),
    ],
)
def test_a_text_setting_takes_what_yaml_cannot_read_as_that_text(
    site_dir: Path, key: str, value: str
) -> None:
    result = _set(site_dir, key, value)
    assert result.exit_code == 0, result.stderr
    got = runner.invoke(app, ["--site", str(site_dir), "config", "get", key])
    assert got.stdout == f"{value}\n"
    section, name = key.split(".")
    assert getattr(getattr(load_config(SitePaths(site_dir)), section), name) == value


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        # Not text: the YAML error stays, said as the command line's.
        ("synapse.max_upload_size_mb", "*x", "synapse.max_upload_size_mb: '*x' is not a value"),
        ("synapse.log_level", "*x", "synapse.log_level: '*x' is not a value YAML can read"),
        ("backup.repositories", "*x", "backup.repositories: '*x' is not a value YAML"),
        ("synapse.url_previews.enabled", "!x y", "synapse.url_previews.enabled: "),
        # Text, but a control character: not taken as typed.
        ("element.brand", "*a\tb", "element.brand: '*a\\tb' is not a value YAML can read"),
        # What YAML reads as a number stays refused, with the quotes to write.
        ("synapse.version", "1.160", "synapse.version: "),
        ("synapse.colour", "x", "unknown setting 'synapse.colour'"),
        ("synapse.log_level", "a\nb", "synapse.log_level: 'a'…: a value is one line"),
        # A quote left open, a list or a map on a text setting: typos, not text.
        ("element.brand", '"My Chat', "element.brand: '\"My Chat' is not a value YAML"),
        ("element.brand", "[Team", "element.brand: '[Team' is not a value YAML can read"),
        (
            "element.brand",
            "[Team]",
            "element.brand: '[Team]' is a list to YAML and this setting holds text",
        ),
        (
            "element.brand",
            "{Team}",
            "element.brand: '{Team}' is a map to YAML and this setting holds text",
        ),
    ],
)
def test_other_values_keep_their_error_as_the_command_lines(
    site_dir: Path, key: str, value: str, says: str
) -> None:
    assert f"given on the command line: {says}" in _refused(site_dir, key, value)


def test_null_still_clears_an_optional_text_setting(site_dir: Path) -> None:
    _ok(site_dir, "turn.host", "turn.example.org")
    _ok(site_dir, "turn.host", "null")
    assert load_config(SitePaths(site_dir)).turn.host is None


def test_an_anchor_defined_twice_is_no_warning_before_the_one_line(site_dir: Path) -> None:
    # Through the real entry point: ruamel.yaml's ReusedAnchorWarning had printed nine
    # lines of its own on stderr before wmx's error.
    wmx = str(Path(sys.executable).with_name("wmx"))
    done = subprocess.run(
        [wmx, "--site", str(site_dir), "config", "set", "backup.repositories", "[&a x, &a y]"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Warning" not in done.stderr, done.stderr
