"""Fixtures of the render tests (tests/unit/render_sites.py), and the unit tier's own user
cache directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.render_sites import one_host_site, three_hosts_site
from wmx.site import Site


@pytest.fixture(autouse=True, scope="session")
def _own_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The inventory cache's key and the compiled templates (user_cache_dir) of the tests
    are their own, never those of whoever runs them (~/.cache/wmx)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("user-cache")))
    yield
    patch.undo()


@pytest.fixture
def one_host(tmp_path: Path) -> Site:
    """The chapter's layout: one host runs database, homeserver and proxy."""
    return one_host_site(tmp_path)


@pytest.fixture
def three_hosts(tmp_path: Path) -> Site:
    """The SRE's layout: one host each, federation on 8448, token registration."""
    return three_hosts_site(tmp_path)
