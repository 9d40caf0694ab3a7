"""A site whose .wmx is a symbolic link (its state kept on another disk, or out of a shared
checkout) is a site like any other: wmx.site.state_files refuses the links below .wmx
(wmx makes none there), never .wmx itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wmx.errors import InputError
from wmx.ops.upgrade_record import last_record
from wmx.site import SitePaths
from wmx.site.deployed import deployed_server_name
from wmx.site.state_files import read_state


@pytest.fixture
def linked_site(tmp_path: Path) -> SitePaths:
    elsewhere = tmp_path / "state"
    (elsewhere / "deployed").mkdir(parents=True)
    (elsewhere / "deployed" / "site.json").write_text('{"server_name": "example.org"}\n')
    (elsewhere / "upgrades").mkdir()
    (elsewhere / "upgrades" / "last.json").write_text(json.dumps({"component": "synapse"}))
    site = tmp_path / "site"
    site.mkdir()
    (site / ".wmx").symlink_to(elsewhere)
    return SitePaths(site)


def test_a_linked_state_directory_is_read(linked_site: SitePaths) -> None:
    assert deployed_server_name(linked_site) == "example.org"
    record = last_record(linked_site.state)
    assert record is not None and record["component"] == "synapse"


def test_a_link_below_the_state_directory_is_still_refused(linked_site: SitePaths) -> None:
    target = linked_site.state.resolve()
    (target / "deployed").rename(target / "real")
    (target / "deployed").symlink_to(target / "real")
    with pytest.raises(InputError, match=r"deployed: a symbolic link"):
        deployed_server_name(linked_site)


def test_a_wmx_directory_deeper_down_is_not_the_site_state(tmp_path: Path) -> None:
    """Only `.wmx` right below the root is exempt: a deployed host's `.wmx` is not."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "manifest.json").write_text("[]")
    host = tmp_path / "deployed" / "h1"
    host.mkdir(parents=True)
    (host / ".wmx").symlink_to(outside)
    with pytest.raises(InputError, match=r"h1/\.wmx: a symbolic link"):
        read_state(host / ".wmx" / "manifest.json", host.parent)
