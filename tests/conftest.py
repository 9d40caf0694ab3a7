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


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return init_site(tmp_path / "site", EXAMPLE).root
