"""Where ssh connects, and what a host is called (wmx.site.hostnames).

Before: `ansible_host` could be 127.0.0.1, 0.0.0.0, a multicast or broadcast address or
IPv4 written as IPv6 (ssh to the first two reaches the operator's own machine, which
`ansible_connection: local` is refused for), `ansible_user` could be empty (ssh logs in
as the operator's own user), two hosts could differ only in case (one directory of
build/ on macOS), and `root@10.0.0.1` or `ssh://10.0.0.1` were called an old spelling of
an IPv4 address. A loopback address behind a forwarded port (Vagrant's 127.0.0.1:2222)
is another machine, and loads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.one_host_inventory import INVENTORY
from wmx.errors import InputError
from wmx.site.hostnames import check_address
from wmx.site.inventory import load_topology


def _inventory(tmp_path: Path, address: str | None, extra: str = "", host: str = "hs1") -> Path:
    text = INVENTORY.format(extra=extra, site_vars="").replace("hs1", host)
    if address is None:
        text = text.replace("      ansible_host: 10.0.0.5\n", "")
    else:
        text = text.replace("ansible_host: 10.0.0.5", f"ansible_host: {address}")
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    return path


def refused(path: Path, start: str, *says: str) -> str:
    """Loading `path` is refused in one line starting `path:START` and saying `says`."""
    with pytest.raises(InputError) as caught:
        load_topology(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{start}"), message
    assert "\n" not in message
    for part in says:
        assert part in message, (part, message)
    return message


# --- this machine, and no machine at all ----------------------------------------------------


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "127.8.9.10", "'::1'", "localhost", "a.localhost"]
)
def test_a_loopback_ansible_host_is_this_machine(tmp_path: Path, address: str) -> None:
    refused(_inventory(tmp_path, address), "4: hs1.ansible_host: ", "is this machine")
    port22 = _inventory(tmp_path, address, "      ansible_port: 22\n")
    refused(port22, "4: hs1.ansible_host: ", "is this machine")


@pytest.mark.parametrize("port", ["2222", "'2200'"])
def test_a_forward_on_loopback_is_another_machine(tmp_path: Path, port: str) -> None:
    path = _inventory(tmp_path, "127.0.0.1", f"      ansible_port: {port}\n")
    assert [h.address for h in load_topology(path).hosts] == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("0.0.0.0", "the unspecified address"),
        ("'::'", "the unspecified address"),
        ("224.0.0.1", "multicast, broadcast or reserved"),
        ("'ff02::1'", "multicast, broadcast or reserved"),
        ("255.255.255.255", "multicast, broadcast or reserved"),
        ("240.0.0.1", "multicast, broadcast or reserved"),
        ("'::ffff:10.0.0.1'", "written as IPv6: write 10.0.0.1"),
    ],
)
def test_an_address_where_no_host_is_reached_isrefused(
    tmp_path: Path, address: str, says: str
) -> None:
    path = _inventory(tmp_path, address, "      ansible_port: 2222\n")
    refused(path, "4: hs1.ansible_host: ", says)
    with pytest.raises(ValueError, match=says):  # `wmx init --host-address` too
        check_address(address.strip("'"))


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("127.0.0.1", "is this machine"),
        ("localhost", "is this machine"),
        ("0.0.0.0", "the unspecified address"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_a_host_reached_by_its_name_is_held_to_the_same(
    tmp_path: Path, host: str, says: str
) -> None:
    refused(_inventory(tmp_path, None, host=host), "3: host ", says)


def test_a_loopback_ansible_ssh_host_is_this_machine(tmp_path: Path) -> None:
    path = _inventory(tmp_path, None, "      ansible_ssh_host: 127.0.0.1\n")
    refused(path, "4: hs1.ansible_ssh_host: ", "is this machine")


# --- the login ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ansible_user", "ansible_ssh_user", "ansible_port"])
def test_an_empty_login_or_port_isrefused(tmp_path: Path, key: str) -> None:
    refused(_inventory(tmp_path, "10.0.0.5", f"      {key}: ''\n"), f"5: hs1.{key}: ''")


# --- names that differ only in case -------------------------------------------------------


def test_hosts_differing_only_in_case_arerefused(tmp_path: Path) -> None:
    text = INVENTORY.format(extra="    HS1:\n      ansible_host: 10.0.0.6\n", site_vars="").replace(
        "proxy: {hosts: {hs1: }}", "proxy: {hosts: {HS1: }}"
    )
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    refused(path, "3: host 'hs1' differs from host 'HS1' only in case", "build/")


# --- what a value that is no address holds ------------------------------------------------


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("root@10.0.0.1", "holds a login (`user@`)"),
        ("root@matrix.example.org", "holds a login"),
        ("ssh://10.0.0.1", "is a URL"),
        ("ssh://root@10.0.0.1:22", "is a URL"),
        ("10.0.0.1:22", "holds a port"),
        ("matrix.example.org:2222", "holds a port"),
        ("10.0.0.0/24", "is a network"),
    ],
)
def test_a_value_that_is_no_address_is_said_for_what_it_is(
    tmp_path: Path, address: str, says: str
) -> None:
    message = refused(_inventory(tmp_path, f"'{address}'"), "4: hs1.ansible_host: ", says)
    assert "old spelling" not in message


@pytest.mark.parametrize("value", ["127.1", "0x7f.1", "host.123"])
def test_an_old_spelling_is_still_one(value: str) -> None:
    with pytest.raises(ValueError, match="old spelling"):
        check_address(value)
