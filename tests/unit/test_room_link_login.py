"""`wmx room link` (wmx/ops/links.py): the room's page in the site's web client, in the
form each client keeps across its login (docs/login.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.render_sites import BASE_CONFIG, make_site
from wmx.errors import InputError
from wmx.ops.links import room_link
from wmx.site.topology import HostView

ALL_IN_ONE = ("database", "homeserver", "proxy", "element")
CINNY = {"kind": "cinny", "sha256": "0" * 64}


def _site(tmp_path: Path, web_client: dict[str, Any], groups: tuple[str, ...] = ALL_IN_ONE) -> Any:
    config = {**BASE_CONFIG, "web_client": {**BASE_CONFIG.get("web_client", {}), **web_client}}
    return make_site(tmp_path, config, [HostView("hs1", "10.213.0.11", groups, 2048)])


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # Element Web keeps the fragment's screen through the login (SSO included: its
        # callback URL carries the fragment) and then opens the room.
        ({"kind": "element"}, "#/room/%23caf%C3%A9%3Aexample.org"),
        # Cinny: the room's path, which it opens after its login redirect.
        (CINNY, "home/%23caf%C3%A9%3Aexample.org/"),
    ],
)
def test_the_link_has_each_web_clients_form(
    tmp_path: Path, kind: dict[str, str], expected: str
) -> None:
    site = _site(tmp_path, kind)
    host = site.config.web_client.host
    assert room_link(site, "#café:example.org") == f"https://{host}/{expected}"


def test_a_room_id_is_linked_the_same_way(tmp_path: Path) -> None:
    site = _site(tmp_path, CINNY)
    link = room_link(site, "!abc:example.org")
    assert link.endswith("/home/%21abc%3Aexample.org/")


def test_a_site_without_a_web_client_has_no_link(tmp_path: Path) -> None:
    site = _site(tmp_path, {}, groups=("database", "homeserver", "proxy"))
    with pytest.raises(InputError, match="runs no web client"):
        room_link(site, "#tea:example.org")
