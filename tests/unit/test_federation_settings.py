"""synapse.federation_allow_ranges: the private ranges a homeserver's federation may reach
(rendered as Synapse's ip_range_whitelist), checked like link previews' allow_ranges, and
set by `wmx lab up --site` to the lab's network only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_chat_render import _files, _refused, _site, _synapse
from wmx.lab.addressing import SUBNET
from wmx.site.grammars import NON_PUBLIC_RANGES


def test_no_ranges_block_every_non_public_range(tmp_path: Path) -> None:
    config = _synapse(_files(_site(tmp_path)))
    assert "ip_range_whitelist" not in config
    # wmx writes the blacklist itself: Synapse's default misses some non-public ranges
    # (NAT64's among them), and the site's own hosts (here covered by 10.0.0.0/8) are
    # added (tests/unit/test_network_exposure.py).
    assert config["ip_range_blacklist"] == list(NON_PUBLIC_RANGES)


def test_allowed_ranges_render_as_ip_range_whitelist(tmp_path: Path) -> None:
    site = _site(tmp_path, synapse={"federation_allow_ranges": [str(SUBNET), "192.0.2.7"]})
    assert _synapse(_files(site))["ip_range_whitelist"] == ["10.213.0.0/24", "192.0.2.7/32"]


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ("127.0.0.1", "federation may never reach those"),
        ("169.254.169.254", "federation may never reach those"),
        ("0.0.0.0/0", "federation may never reach those"),
        ("::ffff:10.0.0.1", "IPv6 form of IPv4"),
        ("10.213.0", "is not an IP address or network"),
    ],
)
def test_loopback_metadata_and_non_networks_are_refused(network: str, message: str) -> None:
    _refused(message, synapse={"federation_allow_ranges": [network]})
