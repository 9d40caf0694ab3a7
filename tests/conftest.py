"""Shared fixtures: a freshly initialised site, as `wmx init --defaults` writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmx.site.init import InitAnswers, init_site

EXAMPLE = InitAnswers(
    server_name="example.test",
    homeserver_host="matrix.example.test",
    web_client_host="element.example.test",
    admin_email="admin@example.test",
    acme_email="acme@example.test",
)


# Fast feedback first: unit, then integration, then e2e. Within e2e the lab's own tests
# run first, while no deploy holds hosts, so that `down` and crash recovery are exercised.
_TIER_ORDER = {"unit": 0, "integration": 1, "e2e": 2}


def _run_order(item: pytest.Item) -> tuple[int, int]:
    path = Path(str(item.fspath))
    tier = _TIER_ORDER.get(path.parent.name, 0)
    return tier, 0 if path.name == "test_lab.py" else 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in ("integration", "e2e"):
            item.add_marker(getattr(pytest.mark, tier))
    items.sort(key=_run_order)  # stable: keeps file and definition order within a group


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return init_site(tmp_path / "site", EXAMPLE).root
