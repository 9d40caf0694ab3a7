"""Fixtures of the render tests (tests/unit/render_sites.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.render_sites import one_host_site, three_hosts_site
from wmx.site import Site


@pytest.fixture
def one_host(tmp_path: Path) -> Site:
    """The chapter's layout: one host runs database, homeserver and proxy."""
    return one_host_site(tmp_path)


@pytest.fixture
def three_hosts(tmp_path: Path) -> Site:
    """The SRE's layout: one host each, federation on 8448, token registration."""
    return three_hosts_site(tmp_path)
