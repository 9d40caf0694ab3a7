"""Host names, addresses and interface names are derived from the host's index alone."""

from __future__ import annotations

import ipaddress

import pytest

from wmx.lab.addressing import (
    BRIDGE_MAC,
    GATEWAY,
    MAX_HOSTS,
    SUBNET,
    LabHost,
    host_address,
    host_fqdn,
    host_index,
    host_mac,
    host_name,
    is_host_name,
    netns_name,
    veth_name,
)


def test_first_hosts() -> None:
    assert host_name(1) == "lab1"
    assert str(host_address(1)) == "10.213.0.11"
    assert str(host_address(2)) == "10.213.0.12"
    assert host_fqdn("lab2") == "lab2.lab.test"
    assert netns_name("lab1") == "wmx-lab1"
    assert veth_name("lab1") == "wmxv-lab1"


def test_every_address_is_unique_inside_the_subnet_and_not_the_gateway() -> None:
    addresses = {host_address(i) for i in range(1, MAX_HOSTS + 1)}
    assert len(addresses) == MAX_HOSTS
    assert GATEWAY not in addresses
    for address in addresses:
        assert address in SUBNET
        assert address not in (SUBNET.network_address, SUBNET.broadcast_address)


def test_macs_are_fixed_unique_and_locally_administered() -> None:
    macs = {host_mac(i) for i in range(1, MAX_HOSTS + 1)} | {BRIDGE_MAC}
    assert len(macs) == MAX_HOSTS + 1
    for mac in macs:
        first_octet = int(mac.split(":")[0], 16)
        assert first_octet & 0b10 and not first_octet & 0b1  # local, unicast
    assert host_mac(1) == host_mac(1)


def test_interface_names_fit_the_kernel_limit() -> None:
    assert len(veth_name(host_name(MAX_HOSTS))) <= 15


def test_index_round_trip() -> None:
    for index in (1, 9, 10, 99, MAX_HOSTS):
        assert host_index(host_name(index)) == index


@pytest.mark.parametrize("name", ["lab0", "lab01", "lab", "lab1x", "Lab1", "lab-1", "web1", ""])
def test_other_names_are_not_lab_hosts(name: str) -> None:
    assert not is_host_name(name)
    with pytest.raises(ValueError):
        host_index(name)


@pytest.mark.parametrize("index", [0, -1, MAX_HOSTS + 1])
def test_indexes_out_of_range(index: int) -> None:
    with pytest.raises(ValueError):
        host_address(index)


def test_lab_host_view() -> None:
    host = LabHost.from_index(3, running=True)
    assert (host.name, host.address, host.running, host.index) == ("lab3", "10.213.0.13", True, 3)
    assert host.fqdn == "lab3.lab.test"
    assert ipaddress.ip_address(host.address) in SUBNET
