"""Host ranges Ansible cannot expand (its ValueError had been a traceback of 160 lines),
legacy IPv4 spellings as `ansible_host` (`0` is this machine, `127.1` loopback), and
template syntax in the IRC relay's nick and tag (RFC 2812 lets `{`, `}` and `|` in)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from wmx.cli import app
from wmx.errors import InputError
from wmx.site.hostnames import check_address
from wmx.site.inventory import load_topology
from wmx.site.settings.irc_bridge import IrcRelaySettings

INVENTORY = """\
all:
  hosts:
    "{host}":
      ansible_host: {address}
  children:
    database: {{hosts: {{"{host}": }}}}
    homeserver: {{hosts: {{"{host}": }}}}
    proxy: {{hosts: {{"{host}": }}}}
"""


def _inventory(tmp_path: Path, host: str = "hs1", address: str = "10.0.0.5") -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY.format(host=host, address=address))
    return path


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("m[1:3:0]", "its step a whole number from 1"),
        ("m[1:3:x]", "its step a whole number from 1"),
        ("m[a:9]", "from a number to a number"),
        ("m[0x1:3]", "from a number to a number"),
        ("m[1:3:1:1]", "[begin:end:step]"),
        ("m[3:1]", "begin <= end"),
        ("m[01:3]", "of one length"),
        ("m[1:3", "one ] after each ["),
    ],
)
def test_a_malformed_host_range_is_one_line_with_its_host(
    tmp_path: Path, host: str, says: str
) -> None:
    path = _inventory(tmp_path, host)
    with pytest.raises(InputError) as refused:
        load_topology(path)
    message = str(refused.value)
    assert message.startswith(f"{path}:3: all.hosts.{host}: a host range is "), message
    assert says in message and "\n" not in message


def test_a_malformed_range_through_the_cli_is_no_traceback(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = CliRunner().invoke(app, ["init", str(site), "--defaults", "--server-name", "ex.test"])
    assert result.exit_code == 0, result.output
    inventory = site / "inventory.yml"
    inventory.write_text(inventory.read_text().replace("matrix", '"m[1:3:0]"'))
    result = CliRunner().invoke(app, ["--site", str(site), "render"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "all.hosts.m[1:3:0]: a host range" in lines[0], lines
    assert not (site / "build").exists()


@pytest.mark.parametrize("value", ["0", "127.1", "2130706433", "0x7f.1", "1.2.3", "0x7f", "10.1."])
def test_a_legacy_ipv4_spelling_is_refused_as_an_address(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="four numbers with dots"):
        check_address(value)
    path = _inventory(tmp_path, address=f"'{value}'")
    with pytest.raises(InputError) as refused:
        load_topology(path)
    assert str(refused.value).startswith(f"{path}:4: hs1.ansible_host: {value!r} reads as")


def test_a_host_named_like_an_address_needs_an_ansible_host(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(
        INVENTORY.format(host="127", address="10.0.0.5").replace(
            "      ansible_host: 10.0.0.5\n", ""
        )
    )
    with pytest.raises(InputError, match="reads as an IPv4 address"):
        load_topology(path)


def test_a_host_named_by_its_dotted_quad_needs_no_ansible_host(tmp_path: Path) -> None:
    """A host named `10.0.0.5` with no ansible_host (ssh connects to its name) is an
    address, not an old spelling of one: it had been refused."""
    path = tmp_path / "inventory.yml"
    path.write_text(
        INVENTORY.format(host="10.0.0.5", address="x").replace("      ansible_host: x\n", "")
    )
    assert [h.address for h in load_topology(path).hosts] == ["10.0.0.5"]


@pytest.mark.parametrize("value", ["matrix.example.org", "db1", "10.0.0.5", "2001:db8::1"])
def test_names_and_addresses_still_pass(value: str) -> None:
    assert check_address(value)


@pytest.mark.parametrize(
    ("key", "value"), [("nick", "{{x}}"), ("nick", "{{x|y}}"), ("tag", "{{a}}"), ("tag", "{%a")]
)
def test_the_relays_nick_and_tag_take_no_template(key: str, value: str) -> None:
    with pytest.raises(ValidationError, match="no template syntax"):
        IrcRelaySettings.model_validate({key: value})
    IrcRelaySettings.model_validate({key: "a{b}|c"})  # the grammar's braces alone stay
