"""Synapse's settings (`synapse:` in wmx.yaml): registration, previews, media, retention,
privacy, e-mail and rate limits."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from wmx.site.grammars import (
    NON_PUBLIC_RANGES,
    OptionalEmail,
    OptionalSmtpUser,
    check_allow_ranges,
    check_duration,
    check_host_or_ip,
    check_networks,
    check_release,
    check_user_masks,
    covered,
    duration_ms,
    optional_duration,
)
from wmx.site.releases import DEFAULT_SYNAPSE_VERSION
from wmx.site.settings.section import Section
from wmx.site.settings.workers import WorkerSettings


class Registration(StrEnum):
    closed = "closed"
    token = "token"
    # Anyone may register, proving an e-mail address (needs synapse.email).
    open = "open"


class UrlPreviewSettings(Section):
    """Link previews: Synapse fetches the page a message links to (privacy, SSRF)."""

    enabled: bool = False
    # None: NON_PUBLIC_RANGES. A list of its own must still cover every one of them.
    ip_range_blacklist: list[str] | None = None
    # Escape hatch (url_preview_ip_range_whitelist): ranges previews may reach although
    # the blacklist covers them, e.g. an intranet wiki; the lab uses it for its hosts.
    allow_ranges: list[str] = Field(default_factory=list)
    # Largest page or image Synapse downloads for one preview (max_spider_size).
    max_page_size_mb: int = Field(default=10, ge=1, le=100)

    @classmethod
    def _short_form(cls, value: Any) -> Any:
        # wmx.yaml files before 0.2 say `url_previews: true|false`: still read, never
        # written (`wmx config set synapse.url_previews false` is refused, naming
        # synapse.url_previews.enabled: it would have put every other key back to its
        # default).
        return {"enabled": value} if isinstance(value, bool) else value

    @field_validator("ip_range_blacklist")
    @classmethod
    def _blacklist(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_networks(value)

    _allow = field_validator("allow_ranges")(classmethod(lambda cls, v: check_allow_ranges(v)))

    @model_validator(mode="after")
    def _blacklist_covers_private_ranges(self) -> UrlPreviewSettings:
        if self.enabled and self.ip_range_blacklist is not None:
            missing = [
                n
                for n in NON_PUBLIC_RANGES
                if not covered(ipaddress.ip_network(n), self.ip_range_blacklist)
            ]
            if missing:
                raise ValueError(
                    "url_previews.ip_range_blacklist must cover every private, loopback and "
                    f"otherwise non-public range while previews are on; missing: "
                    f"{', '.join(missing)}. Remove the key to use wmx's list, and allow a "
                    "specific range with url_previews.allow_ranges instead"
                )
        return self

    @property
    def blacklist(self) -> list[str]:
        if self.ip_range_blacklist is None:
            return list(NON_PUBLIC_RANGES)
        return self.ip_range_blacklist


class MediaSettings(Section):
    """Uploaded and cached media (the upload limit is synapse.max_upload_size_mb)."""

    # media_retention: delete media not accessed for this long. None: keep forever.
    local_lifetime: str | None = None
    remote_lifetime: str | None = "90d"
    # Thumbnails: sizes Synapse makes at upload (always); dynamic ones are made on
    # request in any size (CPU and disk on demand).
    dynamic_thumbnails: bool = False
    # Images larger than this many million pixels get no thumbnail (memory bound).
    max_image_pixels_m: int = Field(default=32, ge=1, le=1000)

    _lifetimes = field_validator("local_lifetime", "remote_lifetime")(
        classmethod(lambda cls, v: optional_duration(v))
    )


class RetentionSettings(Section):
    """Message retention: a server-wide default policy and the range rooms may choose."""

    enabled: bool = False
    # Rooms without a policy of their own keep events this long. None: forever.
    default_max_lifetime: str | None = None
    # What a room's own policy (m.room.retention) may say: max_lifetime within this
    # range. None: no bound on that side.
    allowed_min_lifetime: str | None = "1d"
    allowed_max_lifetime: str | None = None
    # How often the purge job deletes expired events.
    purge_interval: str = "12h"

    _lifetimes = field_validator(
        "default_max_lifetime", "allowed_min_lifetime", "allowed_max_lifetime"
    )(classmethod(lambda cls, v: optional_duration(v)))
    _interval = field_validator("purge_interval")(classmethod(lambda cls, v: check_duration(v)))

    @model_validator(mode="after")
    def _consistent(self) -> RetentionSettings:
        low, high = self.allowed_min_lifetime, self.allowed_max_lifetime
        if low and high and duration_ms(low) > duration_ms(high):
            raise ValueError(
                f"retention.allowed_min_lifetime ({low}) is longer than "
                f"retention.allowed_max_lifetime ({high}): no room policy could satisfy both"
            )
        default = self.default_max_lifetime
        if default and low and duration_ms(default) < duration_ms(low):
            raise ValueError(
                f"retention.default_max_lifetime ({default}) is shorter than "
                f"retention.allowed_min_lifetime ({low})"
            )
        if default and high and duration_ms(default) > duration_ms(high):
            raise ValueError(
                f"retention.default_max_lifetime ({default}) is longer than "
                f"retention.allowed_max_lifetime ({high})"
            )
        return self


class PrivacySettings(Section):
    """What the server keeps about people, and what their rooms do by default."""

    # How long the IP addresses and user agents of sessions are kept. None: forever.
    user_ips_max_age: str | None = "28d"
    # How long the original of a removed (redacted) message is kept for moderators.
    # None: forever.
    redaction_retention_period: str | None = "7d"
    # New rooms encrypted from the start: invite (private rooms and direct messages),
    # all, or off (clients may still turn it on).
    encryption_by_default: Literal["invite", "all", "off"] = "invite"
    # Who may publish rooms in this server's room directory besides the operators (who
    # publish with `wmx room directory show`): Matrix user ids or masks, such as
    # @*:example.org for every local account.
    room_directory_publishers: list[str] = Field(default_factory=list)
    # Other servers (and people without an account) may read the room directory.
    public_room_directory: bool = False
    # User search finds everyone on the server (true) or only people sharing a room or
    # in public rooms (false).
    user_directory_search_all: bool = False
    # New rooms in Element default to admitting people of other servers (true), or to
    # homeserver-only rooms (false; m.federate, fixed when the room is made).
    new_rooms_federate: bool = True
    # Push notifications (to phones, through Apple or Google) carry the message text
    # (true) or only its id, which the app fetches itself (false).
    push_include_content: bool = False

    _ages = field_validator("user_ips_max_age", "redaction_retention_period")(
        classmethod(lambda cls, v: optional_duration(v))
    )

    _publishers = field_validator("room_directory_publishers")(
        classmethod(lambda cls, v: check_user_masks(v))
    )


class SynapseEmailSettings(Section):
    """How Synapse sends mail (verification, password resets, missed-message notices).
    The SMTP password is in secrets.yml (synapse_smtp_password)."""

    smtp_host: str = ""  # empty: Synapse sends no mail
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: OptionalSmtpUser = ""
    # Use TLS (STARTTLS on 587, implicit TLS on 465); refuse plain text.
    require_tls: bool = True
    notif_from: OptionalEmail = ""  # the From: address
    # E-mail people about messages they missed (they can turn it off in their client).
    notifications: bool = False

    @field_validator("smtp_host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_host_or_ip(value) if value else value

    @property
    def configured(self) -> bool:
        return bool(self.smtp_host and self.notif_from)

    @model_validator(mode="after")
    def _complete(self) -> SynapseEmailSettings:
        if bool(self.smtp_host) != bool(self.notif_from):
            raise ValueError("synapse.email needs both smtp_host and notif_from, or neither")
        return self


class LoginRateLimit(Section):
    """Synapse's `rc_login.address`: password logins allowed from one IP address."""

    # Bounded so that the rendered number is a plain decimal Synapse reads (no 1e-10).
    per_second: float = Field(default=0.003, ge=0.0001, le=1000)
    burst_count: int = Field(default=5, ge=1, le=100_000)


class SynapseSettings(Section):
    version: str = DEFAULT_SYNAPSE_VERSION
    registration: Registration = Field(default=Registration.closed, strict=False)
    max_upload_size_mb: int = Field(default=50, ge=1, le=2048)
    url_previews: UrlPreviewSettings = UrlPreviewSettings()
    presence: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Full-text search of messages (unencrypted rooms; clients search encrypted ones).
    search: bool = True
    # Guest accounts (read public rooms without registering).
    guest_access: bool = False
    media: MediaSettings = MediaSettings()
    retention: RetentionSettings = RetentionSettings()
    privacy: PrivacySettings = PrivacySettings()
    email: SynapseEmailSettings = SynapseEmailSettings()
    login_rate_limit: LoginRateLimit = LoginRateLimit()
    # Private ranges this server's own outbound requests (federation above all) may reach
    # although Synapse's ip_range_blacklist covers them (ip_range_whitelist): homeservers
    # on a private network, such as the lab's. Never loopback, link-local or metadata.
    federation_allow_ranges: list[str] = Field(default_factory=list)
    # Worker processes beside the main one (docs/workers.md); preset none: one process.
    workers: WorkerSettings = WorkerSettings()

    _federation_allow = field_validator("federation_allow_ranges")(
        classmethod(lambda cls, v: check_allow_ranges(v, "federation"))
    )

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return check_release(value, "Synapse", "1.163.2")

    @model_validator(mode="after")
    def _open_registration_verifies_email(self) -> SynapseSettings:
        if self.registration is Registration.open and not self.email.configured:
            raise ValueError(
                "synapse.registration: open needs e-mail verification, so that each new "
                "account proves an address: set synapse.email.smtp_host and "
                "synapse.email.notif_from (the SMTP password goes into secrets.yml), or use "
                "registration: token"
            )
        return self
