"""Text that YAML reads as something else where wmx expects text: refused with the line,
the text as written and the quotes that keep it (wmx.site.yaml_scalars).

wmx.yaml is read as YAML 1.2: `1.160`, `1_00`, `0o17`, `0x1F`, `.inf`, `2026-01-01` are
numbers or dates there (said before as "Input should be a valid string (got 1.16)"), while
`off`, `NO` and `1:20` stay text. The inventory is read by Ansible as YAML 1.1: `NO`,
`off`, `yes` are booleans, `017` and `1:20` numbers (before: "'False' is not a login
name"; a date or `.inf` in a key file or user name was dropped without a word)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.site import load_site

from .test_fields_inventory_lines import _line, _refused, site

__all__ = ["site"]  # the fixture
runner = CliRunner()


def _replace(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


SETTINGS = [
    ("  version: 1.163.2\n", "  version: 1.160  # pinned\n", "1.160", "synapse.version"),
    ("  version: 1.15.4\n", "  version: 1_00\n", "1_00", "irc_bridge.version"),
    ("  version: null\n", "  version: 0o17\n", "0o17", "web_client.version"),
    ("server_name: example.test\n", "server_name: 0x1F\n", "0x1F", "server_name"),
    ("    - name: libera\n", "    - name: .inf\n", ".inf", "irc_bridge.networks.0.name"),
    (
        "    - name: libera\n",
        "    - name: 2026-01-01\n",
        "2026-01-01",
        "irc_bridge.networks.0.name",
    ),
]


@pytest.mark.parametrize(("old", "new", "text", "key"), SETTINGS)
def test_a_setting_that_is_text_asks_for_quotes(
    site: Path, old: str, new: str, text: str, key: str
) -> None:
    path = _replace(site / "wmx.yaml", old, new)
    line = _refused(site)
    number = _line(path, new.strip())
    assert line.startswith(f"{path}:{number}: {key}: {text} is read by YAML as "), line
    assert line.endswith(f'not as text: write it in quotes ("{text}")'), line


@pytest.mark.parametrize("word", ["off", "no", "yes", "on"])
def test_yaml_1_1_booleans_stay_text_in_wmx_yaml(site: Path, word: str) -> None:
    _replace(site / "wmx.yaml", "    - name: libera\n", f"    - name: {word}\n")
    assert load_site(site).config.irc_bridge.networks[0].name == word


def test_config_set_never_quotes_the_files_old_text(site: Path) -> None:
    result = runner.invoke(app, ["--site", str(site), "config", "set", "synapse.version", "1.160"])
    assert result.exit_code == 2
    assert "synapse.version: read by YAML as the number 1.16, not as text" in result.stderr
    assert "1.163.2" not in result.stderr  # the release wmx.yaml names, at that line


INVENTORY = [
    ("ansible_user: root", "ansible_user: NO", "NO", "false"),
    ("ansible_user: root", "ansible_user: yes", "yes", "true"),
    ("ansible_user: root", "ansible_become_user: off", "off", "false"),
    ("ansible_user: root", "ansible_user: 017", "017", "the number 15"),
    ("ansible_user: root", "ansible_user: 1_00", "1_00", "the number 100"),
    ("ansible_host: 203.0.113.10", "ansible_host: 1:20", "1:20", "the number 80"),
    ("ansible_user: root", "ansible_user: 2026-01-01", "2026-01-01", "a date"),
    ("ansible_user: root", "ansible_ssh_private_key_file: .inf", ".inf", "the number inf"),
]


@pytest.mark.parametrize(("old", "new", "text", "read"), INVENTORY)
def test_an_inventory_variable_that_is_text_asks_for_quotes(
    site: Path, old: str, new: str, text: str, read: str
) -> None:
    path = _replace(site / "inventory.yml", old, new)
    line = _refused(site)
    key = new.split(":")[0]
    assert line == (
        f"{path}:{_line(path, new)}: matrix.{key}: {text} is read by Ansible (YAML 1.1) as "
        f'{read}, not as text: write it in quotes ("{text}")'
    )


def test_a_group_variable_in_a_flow_mapping_has_its_line(site: Path) -> None:
    path = _replace(site / "inventory.yml", "all:\n", "all:\n  vars: {ansible_user: off}\n")
    _replace(path, "      ansible_user: root\n", "")
    line = _refused(site)
    assert line.startswith(f"{path}:{_line(path, 'vars: {')}: matrix.ansible_user: off "), line
