"""Element Web's settings (`element:` in wmx.yaml)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator, model_validator

from wmx.site.grammars import Strict, check_hostname, check_text, https_url
from wmx.site.releases import DEFAULT_ELEMENT_SHA256, DEFAULT_ELEMENT_VERSION

_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_ELEMENT_VERSION = re.compile(r"[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}(?:[a-z0-9.-]{0,16})", re.ASCII)


class ElementSettings(Strict):
    """Element Web (the `element` inventory group, on the proxy host)."""

    # None: DEFAULT_ELEMENT_VERSION, or the version an `archive` holds.
    version: str | None = None
    # The archive's SHA-256. None: the pinned one of the default version; with an
    # `archive`, computed from the file (and checked against this value when set).
    sha256: str | None = None
    # Install from this archive on the operator's machine instead of downloading
    # (sites without internet access, mirrors); a path relative to the site directory.
    archive: str | None = None
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

    @field_validator("version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip().removeprefix("v")
            if not _ELEMENT_VERSION.fullmatch(value):
                raise ValueError(f"{value!r} is not an Element release number such as 1.12.25")
        return value

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip().lower()
            if not _SHA256.fullmatch(value):
                raise ValueError(f"{value!r} is not a SHA-256 (64 hexadecimal digits)")
        return value

    @field_validator("archive")
    @classmethod
    def _archive(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("give a path to a .tar.gz archive, or null to download")
        return None if value is None else check_text(value, "path", 4096)

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

    @model_validator(mode="after")
    def _pinned(self) -> ElementSettings:
        if self.version not in (None, DEFAULT_ELEMENT_VERSION) and not (
            self.sha256 or self.archive
        ):
            raise ValueError(
                f"element.version {self.version} needs element.sha256: the SHA-256 of "
                f"element-v{self.version}.tar.gz from a source you trust (wmx pins only "
                f"{DEFAULT_ELEMENT_VERSION})"
            )
        return self

    @property
    def pinned_sha256(self) -> str | None:
        """The checksum the downloaded archive must have (None with a local archive)."""
        if self.archive:
            return self.sha256
        if self.sha256:
            return self.sha256
        return DEFAULT_ELEMENT_SHA256
