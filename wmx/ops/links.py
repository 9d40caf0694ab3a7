"""Links into the site's web client (`wmx room link`, docs/login.md)."""

from __future__ import annotations

from urllib.parse import quote

from wmx.errors import InputError
from wmx.site import Site


def room_link(site: Site, room: str) -> str:
    """A link that opens `room` (an alias or id, already checked) in the site's web client.

    Logged out, the client keeps the link, shows its login page (with the wiki's button
    when `login:` is on) and opens the room once the person is logged in: Cinny
    (/home/<room>/, its after-login redirect) and Element Web (#/room/<room>).
    """
    if site.topology.first_in("element") is None:
        raise InputError(
            "this site runs no web client (inventory group `element`): no link to give"
        )
    base = f"https://{site.config.web_client.host}"
    encoded = quote(room, safe="")
    if site.config.web_client.kind == "cinny":
        return f"{base}/home/{encoded}/"
    return f"{base}/#/room/{encoded}"
