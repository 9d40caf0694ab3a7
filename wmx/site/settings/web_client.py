"""The web client's settings (`web_client:` in wmx.yaml): where it is served, which client
(Element Web or Cinny), which release of it, and what it offers people.

What only Element reads (brand, calls, integrations, identity server, theme) stays in
`element:` (wmx/site/settings/element.py).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from wmx.site.grammars import check_hostname, check_text, no_control
from wmx.site.releases import DEFAULT_RELEASES
from wmx.site.settings.section import Section

_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
# A release number, as web_client.version and an archive's directory name give it.
WEB_CLIENT_VERSION = re.compile(r"[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}(?:[a-z0-9.-]{0,16})", re.ASCII)
# A room alias people can join: #name:server (the server part a host name).
_ALIAS = re.compile(r"#[a-z0-9._=/+-]{1,100}:([a-z0-9.-]{1,253})", re.ASCII | re.IGNORECASE)

WebClientKind = Literal["element", "cinny"]
CLIENT_NAMES: dict[str, str] = {"element": "Element Web", "cinny": "Cinny"}


class WebClientSettings(Section):
    """The web client, served by the proxy host (inventory group `element`)."""

    host: str
    # Which client: Element Web (the default) or Cinny.
    kind: WebClientKind = "element"
    # The release. None: the one this wmx version pins for `kind` (or the one an
    # `archive` holds).
    version: str | None = None
    # The archive's SHA-256. None: wmx's pin for the default version; with an `archive`,
    # computed from the file (and checked against this value when set).
    sha256: str | None = None
    # Install from this archive on the operator's machine instead of downloading
    # (sites without internet access, mirrors, the lab); relative to the site directory.
    archive: str | None = None
    # Offer other homeservers at login (Cinny's custom homeserver field, Element's
    # "Edit" of the server). False: this homeserver is the default and the only one.
    allow_other_homeservers: bool = False
    # Rooms the client features to everyone (Cinny's "Explore community": featured
    # rooms), as aliases such as "#welcome:example.org".
    featured_rooms: list[str] = Field(default_factory=list, max_length=50)

    _host = field_validator("host")(classmethod(lambda cls, v: check_hostname(v)))

    @field_validator("version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        if value is not None:
            # "v1.11.100\n" is refused, not trimmed (no_control)
            value = no_control(value, "release number").strip(" ").removeprefix("v")
            if not WEB_CLIENT_VERSION.fullmatch(value):
                raise ValueError(f"{value[:40]!r} is not a release number such as 1.12.25 or 4.2.2")
        return value

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str | None) -> str | None:
        if value is not None:
            value = no_control(value, "SHA-256").strip(" ").lower()
            if not _SHA256.fullmatch(value):
                raise ValueError(f"{value[:80]!r} is not a SHA-256 (64 hexadecimal digits)")
        return value

    @field_validator("archive")
    @classmethod
    def _archive(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("give a path to a .tar.gz archive, or null to download")
        return None if value is None else check_text(value, "path", 4096)

    @field_validator("featured_rooms")
    @classmethod
    def _rooms(cls, value: list[str]) -> list[str]:
        for alias in value:
            match = _ALIAS.fullmatch(alias)
            if match is None:
                raise ValueError(f"{alias!r} is not a room alias such as #welcome:example.org")
            check_hostname(match.group(1).lower())
        return value

    @model_validator(mode="after")
    def _pinned(self) -> WebClientSettings:
        if self.archive or self.sha256:
            return self
        pinned_version, pinned_sha256 = DEFAULT_RELEASES[self.kind]
        name = f"{self.kind}-v{self.version or pinned_version}.tar.gz"
        if self.version not in (None, pinned_version):
            raise ValueError(
                f"web_client.version {self.version} needs web_client.sha256: the SHA-256 of "
                f"{name} from a source you trust (wmx pins only {pinned_version})"
            )
        if pinned_sha256 is None:
            raise ValueError(
                f"web_client.kind {self.kind} needs web_client.sha256 (the SHA-256 of {name} "
                "from a source you trust: wmx pins no checksum it could not verify) or "
                "web_client.archive (a local copy of the release)"
            )
        return self

    @property
    def client_name(self) -> str:
        return CLIENT_NAMES[self.kind]

    @property
    def pinned_sha256(self) -> str | None:
        """The checksum a downloaded archive must have (None with a local archive)."""
        if self.archive or self.sha256:
            return self.sha256
        return DEFAULT_RELEASES[self.kind][1]
