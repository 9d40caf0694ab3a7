"""Element Web's own settings (`element:` in wmx.yaml), read when `web_client.kind` is
`element`. Which release is installed is `web_client:` (wmx/site/settings/web_client.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from wmx.site.grammars import check_hostname, check_text, https_url
from wmx.site.settings.section import Section


class ElementSettings(Section):
    """Element Web's own settings (its release: `web_client`)."""

    brand: str = "Element"
    # Servers whose room directories Element offers. None: this server only.
    room_directory_servers: list[str] | None = None
    # Integration managers (widgets, bots and bridges from a third-party service).
    integrations: bool = False
    # Group calls with Jitsi, or Element Call, at these addresses. Empty: not configured.
    jitsi_domain: str = ""
    element_call_url: str = ""
    # An identity server (finding people by e-mail address). Empty: none.
    identity_server: str = ""
    default_theme: Literal["light", "dark"] = "light"

    _brand = field_validator("brand")(classmethod(lambda cls, v: check_text(v, "brand name")))

    @field_validator("room_directory_servers")
    @classmethod
    def _servers(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [check_hostname(v) for v in value]

    @field_validator("jitsi_domain")
    @classmethod
    def _jitsi(cls, value: str) -> str:
        return check_hostname(value) if value else value

    _urls = field_validator("element_call_url", "identity_server")(
        classmethod(lambda cls, v: https_url(v))
    )
