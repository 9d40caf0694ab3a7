"""The typed model of a site: what `wmx.yaml` may say, and the rules across fields.

Everything that decides what a config file says is derived here (or in templates),
never in playbooks: the renderer hands these objects to Jinja as they are.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

SCHEMA_VERSION = 1
# The Synapse release this wmx version deploys and has been tested with.
DEFAULT_SYNAPSE_VERSION = "1.163.2"
LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+([a-z0-9.]*)?$")


def check_hostname(value: str) -> str:
    """Accept a lower-case DNS name with at least two labels (no scheme, no port)."""
    value = value.strip().lower()
    if not _HOSTNAME.match(value):
        raise ValueError(
            f"{value!r} is not a DNS host name (lower-case labels separated by dots, "
            "such as matrix.example.org; no scheme, port or path)"
        )
    return value


def check_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Registration(StrEnum):
    closed = "closed"
    token = "token"
    # Anyone may register, proving an e-mail address (needs synapse.email).
    open = "open"


class HomeserverSettings(Strict):
    host: str = Field(description="public host name of the client and federation API")
    federation: bool = True
    federation_port: Literal[443, 8448] = 443

    _host = field_validator("host")(classmethod(lambda cls, v: check_hostname(v)))


class WebClientSettings(Strict):
    host: str

    _host = field_validator("host")(classmethod(lambda cls, v: check_hostname(v)))


class ContactSettings(Strict):
    admin_email: str

    _email = field_validator("admin_email")(classmethod(lambda cls, v: check_email(v)))


class AcmeSettings(Strict):
    email: str
    directory: str = LETS_ENCRYPT_DIRECTORY

    _email = field_validator("email")(classmethod(lambda cls, v: check_email(v)))

    @field_validator("directory")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError(f"{value!r} is not an https:// ACME directory URL")
        return value


# --- The chat experience (issue 5): previews, media, retention, privacy, e-mail --------

# Every range a server must never fetch on a user's behalf: private, loopback,
# link-local, shared, documentation, multicast and reserved addresses (IANA special
# purpose registries). URL previews refuse all of them (server-side request forgery).
NON_PUBLIC_RANGES: tuple[str, ...] = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "100::/64", "2001::/23",
    "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
)  # fmt: skip
# Never reachable through `allow_ranges`: the host itself and cloud metadata services.
_NEVER_ALLOWED = tuple(
    ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10")
)
# Synapse's durations (Config.parse_duration): a number and one of these units.
_DURATION = re.compile(r"^(\d+)(s|m|h|d|w|y)$")
_DURATION_MS = {
    "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000,
    "y": 365 * 86_400_000,
}  # fmt: skip


def check_duration(value: Any) -> str:
    """A duration as Synapse writes it: a whole number and a unit, such as 30d or 12h."""
    text = str(value).strip()
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{value!r} is not a duration: a whole number above 0 and a unit "
            "(s, m, h, d, w or y), such as 12h, 30d or 1y"
        )
    return text


def duration_ms(value: str) -> int:
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration")
    return int(match.group(1)) * _DURATION_MS[match.group(2)]


def _optional_duration(value: Any) -> str | None:
    return None if value is None else check_duration(value)


def check_networks(value: list[str]) -> list[str]:
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network (such as 192.0.2.7 or 198.51.100.0/24)"
            ) from None
    return [str(ipaddress.ip_network(item, strict=False)) for item in value]


def _covered(network: ipaddress.IPv4Network | ipaddress.IPv6Network, by: list[str]) -> bool:
    for entry in by:
        other = ipaddress.ip_network(entry, strict=False)
        if other.version == network.version and network.subnet_of(other):  # type: ignore[arg-type]
            return True
    return False


class UrlPreviewSettings(Strict):
    """Link previews: Synapse fetches the page a message links to (privacy, SSRF)."""

    enabled: bool = False
    # None: NON_PUBLIC_RANGES. A list of its own must still cover every one of them.
    ip_range_blacklist: list[str] | None = None
    # Escape hatch (url_preview_ip_range_whitelist): ranges previews may reach although
    # the blacklist covers them, e.g. an intranet wiki; the lab uses it for its hosts.
    allow_ranges: list[str] = Field(default_factory=list)
    # Largest page or image Synapse downloads for one preview (max_spider_size).
    max_page_size_mb: int = Field(default=10, ge=1, le=100)

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, value: Any) -> Any:
        # wmx.yaml files before 0.2 say `url_previews: true|false`.
        return {"enabled": value} if isinstance(value, bool) else value

    @field_validator("ip_range_blacklist")
    @classmethod
    def _blacklist(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_networks(value)

    @field_validator("allow_ranges")
    @classmethod
    def _allow(cls, value: list[str]) -> list[str]:
        checked = check_networks(value)
        for item in checked:
            network = ipaddress.ip_network(item)
            if any(network.version == n.version and network.overlaps(n) for n in _NEVER_ALLOWED):
                raise ValueError(
                    f"{item} includes loopback or link-local addresses (the server itself, "
                    "cloud metadata services): previews may never reach those"
                )
        return checked

    @model_validator(mode="after")
    def _blacklist_covers_private_ranges(self) -> UrlPreviewSettings:
        if self.enabled and self.ip_range_blacklist is not None:
            missing = [
                n
                for n in NON_PUBLIC_RANGES
                if not _covered(ipaddress.ip_network(n), self.ip_range_blacklist)
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


class MediaSettings(Strict):
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
        classmethod(lambda cls, v: _optional_duration(v))
    )


class RetentionSettings(Strict):
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
    )(classmethod(lambda cls, v: _optional_duration(v)))
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


class PrivacySettings(Strict):
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
        classmethod(lambda cls, v: _optional_duration(v))
    )

    @field_validator("room_directory_publishers")
    @classmethod
    def _publishers(cls, value: list[str]) -> list[str]:
        for mask in value:
            if not _USER_MASK.match(mask):
                raise ValueError(
                    f"{mask!r} is not a Matrix user id or mask (such as @alice:example.org "
                    "or @*:example.org)"
                )
        return value


class SynapseEmailSettings(Strict):
    """How Synapse sends mail (verification, password resets, missed-message notices).
    The SMTP password is in secrets.yml (synapse_smtp_password)."""

    smtp_host: str = ""  # empty: Synapse sends no mail
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str = ""
    # Use TLS (STARTTLS on 587, implicit TLS on 465); refuse plain text.
    require_tls: bool = True
    notif_from: str = ""  # the From: address
    # E-mail people about messages they missed (they can turn it off in their client).
    notifications: bool = False

    @field_validator("smtp_host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_hostname(value) if value else value

    @field_validator("notif_from")
    @classmethod
    def _from(cls, value: str) -> str:
        return check_email(value) if value else value

    @property
    def configured(self) -> bool:
        return bool(self.smtp_host and self.notif_from)

    @model_validator(mode="after")
    def _complete(self) -> SynapseEmailSettings:
        if bool(self.smtp_host) != bool(self.notif_from):
            raise ValueError("synapse.email needs both smtp_host and notif_from, or neither")
        return self


class LoginRateLimit(Strict):
    """Synapse's `rc_login.address`: password logins allowed from one IP address."""

    per_second: float = Field(default=0.003, gt=0)
    burst_count: int = Field(default=5, ge=1)


class SynapseSettings(Strict):
    version: str = DEFAULT_SYNAPSE_VERSION
    registration: Registration = Registration.closed
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

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError(f"{value!r} is not a Synapse release number such as 1.163.2")
        return value

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


class PostgresSettings(Strict):
    max_connections: int = Field(default=100, ge=20, le=1000)


class TlsSettings(Strict):
    hsts_max_age: int = Field(default=63072000, ge=0)


_SMARTHOST = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$")
_USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class SmtpSettings(Strict):
    """How Alertmanager sends alert e-mail. The password is in secrets.yml."""

    smarthost: str = ""  # host:port of the mail relay; empty: no e-mail
    sender: str = ""  # the From: address
    username: str = ""  # empty: no SMTP authentication
    require_tls: bool = True

    @field_validator("smarthost")
    @classmethod
    def _smarthost(cls, value: str) -> str:
        if value and not _SMARTHOST.match(value):
            raise ValueError(f"{value!r} is not host:port, such as smtp.example.org:587")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return check_email(value) if value else value


class RemoteScrapeSettings(Strict):
    """Remote Prometheus servers that may read this site's metrics (federation)."""

    allow: list[str] = Field(default_factory=list)  # addresses or networks; empty: nobody
    user: str = "wmx-remote"

    @field_validator("allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (such as 192.0.2.7 or "
                    "198.51.100.0/24)"
                ) from None
        return value

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        if not _USERNAME.match(value):
            raise ValueError(f"{value!r}: use letters, digits and ._- only (at most 64)")
        return value


class MonitoringSettings(Strict):
    """Prometheus, Alertmanager and the exporters (the `monitoring` inventory group)."""

    alert_emails: list[str] = Field(default_factory=list)
    smtp: SmtpSettings = SmtpSettings()
    webhook_url: str = ""
    scrape_interval: int = Field(default=15, ge=5, le=300)
    target_down_after: int = Field(default=120, ge=0, le=3600)
    group_interval: int = Field(default=300, ge=10, le=3600)
    retention_days: int = Field(default=30, ge=1, le=3650)
    remote_scrape: RemoteScrapeSettings = RemoteScrapeSettings()

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return [check_email(v) for v in value]

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _mail_needs_relay(self) -> MonitoringSettings:
        if self.alert_emails and not (self.smtp.smarthost and self.smtp.sender):
            raise ValueError(
                "monitoring.alert_emails needs monitoring.smtp.smarthost and "
                "monitoring.smtp.sender (the relay and From: address)"
            )
        return self


# The IRC bridge (issue 4): Heisenbridge, its networks and Libera.Chat's expectations.
DEFAULT_HEISENBRIDGE_VERSION = "1.15.4"
LIBERA_CHAT_SERVER = "irc.libera.chat:6697:tls"
_IRC_NETWORK = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# RFC 2812 nicknames, at most 16 characters (Libera.Chat's NICKLEN).
_IRC_NICK = re.compile(r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,15}$")
_RELAY_TAG = re.compile(r"^[A-Za-z0-9_\[\]|{}-]{1,10}$")
_USER_MASK = re.compile(r"^@[^\s:]+:[^\s:]+(:\d{1,5})?$")


def check_irc_host(value: str) -> str:
    """An IRC server: a DNS name or an IP address."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return check_hostname(value)


class IrcServer(Strict):
    """One server of a network. In wmx.yaml: `host:port`, or `host:port:tls`."""

    host: str
    port: int = Field(ge=1, le=65535)
    tls: bool = False

    _host = field_validator("host")(classmethod(lambda cls, v: check_irc_host(v)))

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        host, _, rest = value.strip().partition(":")
        port, _, flag = rest.partition(":")
        if not host or not port.isdigit() or flag not in ("", "tls"):
            raise ValueError(
                f"{value!r} is not host:port or host:port:tls (such as {LIBERA_CHAT_SERVER})"
            )
        return {"host": host, "port": int(port), "tls": flag == "tls"}

    @model_serializer
    def _as_text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}" + (":tls" if self.tls else "")


class IrcNetwork(Strict):
    name: str
    servers: list[IrcServer] = Field(min_length=1)
    # The relay connection signs in to the network's services with SASL PLAIN, as the
    # account named like the relay's nick, with `irc_relay_password` from secrets.yml.
    sasl: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _IRC_NETWORK.match(value):
            raise ValueError(
                f"{value!r} is not a network name (lower-case letters, digits, - and _, "
                "starting with a letter, such as libera)"
            )
        return value


def _libera_chat() -> list[IrcNetwork]:
    libera = IrcServer(host="irc.libera.chat", port=6697, tls=True)
    return [IrcNetwork(name="libera", servers=[libera], sasl=True)]


class IrcRelaySettings(Strict):
    """The relay (plumbed rooms): one IRC connection speaks for a room's Matrix users."""

    nick: str | None = None  # None: the first label of server_name + "-matrix"
    zero_width_space: bool = True
    max_lines: int = Field(default=5, ge=0, le=100)
    pastebin: bool = True
    tag: str = "m"
    displaynames: bool = True

    @field_validator("nick")
    @classmethod
    def _nick(cls, value: str | None) -> str | None:
        if value is not None and not _IRC_NICK.match(value):
            raise ValueError(
                f"{value!r} is not an IRC nick (at most 16 letters, digits and -[]\\`_^{{|}}, "
                "not starting with a digit or -)"
            )
        return value

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not _RELAY_TAG.match(value):
            raise ValueError(f"{value!r}: use 1 to 10 letters, digits and _[]|{{}}- only")
        return value


class IrcBridgeSettings(Strict):
    """Heisenbridge (the `irc_bridge` inventory group) and what it offers."""

    version: str = DEFAULT_HEISENBRIDGE_VERSION
    networks: list[IrcNetwork] = Field(default_factory=_libera_chat)
    # Matrix user masks (fnmatch, `*` and `?`) that may use the bridge; None: every
    # account of this server (@*:server_name).
    allowed_users: list[str] | None = None
    # Besides wmx's own admin account, who may manage networks and plumb rooms.
    admins: list[str] = Field(default_factory=list)
    relay: IrcRelaySettings = IrcRelaySettings()

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError(f"{value!r} is not a Heisenbridge release number such as 1.15.4")
        return value

    @field_validator("networks")
    @classmethod
    def _unique(cls, value: list[IrcNetwork]) -> list[IrcNetwork]:
        names = [n.name for n in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"network names must be unique; repeated: {', '.join(twice)}")
        return value

    @field_validator("allowed_users", "admins")
    @classmethod
    def _masks(cls, value: list[str] | None) -> list[str] | None:
        for mask in value or []:
            if not _USER_MASK.match(mask):
                raise ValueError(
                    f"{mask!r} is not a Matrix user id or mask (such as @alice:example.org "
                    "or @*:example.org)"
                )
        return value

    def network(self, name: str) -> IrcNetwork | None:
        return next((n for n in self.networks if n.name == name), None)


# Backups (issue 7): borg repositories, the timer's schedule and what prune keeps.
_CALENDAR_SHORTHANDS = frozenset(
    {"minutely", "hourly", "daily", "weekly", "monthly", "quarterly", "semiannually",
     "yearly", "annually"}
)  # fmt: skip
_WEEKDAYS = frozenset(
    {"mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday", "wednesday",
     "thursday", "friday", "saturday", "sunday"}
)  # fmt: skip
# One field of a date or time: *, a number or a range a..b, optionally /step, in a list.
_CAL_VALUE = r"(\*|\d{1,4}(\.\.\d{1,4})?)(/\d{1,4})?"
_CAL_FIELD = rf"{_CAL_VALUE}(,{_CAL_VALUE})*"
_CAL_DATE = re.compile(rf"^({_CAL_FIELD}-)?{_CAL_FIELD}[-~]{_CAL_FIELD}$")
_CAL_TIME = re.compile(rf"^{_CAL_FIELD}:{_CAL_FIELD}(:{_CAL_FIELD}(\.\d+)?)?$")
_CAL_ZONE = re.compile(r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+)+)$")
_BORG_SSH_REPO = re.compile(
    r"^(ssh://[a-z_][a-z0-9_.-]*@[A-Za-z0-9.-]+(:\d{1,5})?/\S+"
    r"|[a-z_][a-z0-9_.-]*@[A-Za-z0-9.-]+:[^\s:]\S*)$"
)


def _weekday_spec(token: str) -> bool:
    for part in token.split(","):
        names = part.split("..")
        if len(names) > 2 or not all(n.lower() in _WEEKDAYS for n in names):
            return False
    return True


def check_calendar(value: str) -> str:
    """A systemd calendar expression (`OnCalendar=`, systemd.time(7)).

    Checks the shape, not every range: the backup role asks `systemd-analyze calendar`
    on the host too. A newline or any character outside the syntax is refused, since
    the value lands in a unit file.
    """
    text = " ".join(value.split())
    if text.lower() in _CALENDAR_SHORTHANDS:
        return text.lower()
    tokens = text.split(" ")
    if tokens and _CAL_ZONE.match(tokens[-1]) and len(tokens) > 1:
        tokens = tokens[:-1]
    if tokens and _weekday_spec(tokens[0]):
        tokens = tokens[1:]
        if not tokens:
            return text  # "Mon,Fri": at midnight on those days
    if tokens and _CAL_DATE.match(tokens[0]):
        tokens = tokens[1:]
    if tokens and _CAL_TIME.match(tokens[0]):
        tokens = tokens[1:]
    if tokens or not text or len(text) > 200:
        raise ValueError(
            f"{value!r} is not a systemd calendar expression (OnCalendar=), such as daily, "
            "hourly, *-*-* 03:15 or Mon..Fri 02:30; see `man systemd.time`"
        )
    return text


def check_borg_repository(value: str) -> str:
    value = value.strip()
    if not _BORG_SSH_REPO.match(value):
        raise ValueError(
            f"{value!r} is not a remote borg repository: user@host:path or "
            "ssh://user@host[:port]/path"
        )
    return value


class BackupRetention(Strict):
    """What `borg prune` keeps: the last archive of each of so many days, weeks, months."""

    daily: int = Field(default=7, ge=0, le=3650)
    weekly: int = Field(default=4, ge=0, le=520)
    monthly: int = Field(default=6, ge=0, le=1200)
    # Every archive younger than this is kept, whatever the rules above say: a manual
    # backup (before an upgrade, say) is not pruned by the next run on the same day.
    keep_within_hours: int = Field(default=24, ge=0, le=8760)

    @model_validator(mode="after")
    def _keeps_something(self) -> BackupRetention:
        if not (self.daily or self.weekly or self.monthly):
            raise ValueError("backup.retention keeps nothing: set daily, weekly or monthly above 0")
        return self


class BackupSettings(Strict):
    """borg backups of the homeserver host (database, media, signing key, configs)."""

    # Off when the section is absent (sites made before backups existed); `wmx init`
    # writes it on.
    enabled: bool = False
    schedule: str = "daily"
    retention: BackupRetention = BackupRetention()
    include_remote_media: bool = False
    # A repository on the homeserver host itself (/var/backups/wmx/borg).
    local_repository: bool = True
    # Further remote repositories (besides a host of the inventory's `backup` group).
    repositories: list[str] = Field(default_factory=list)

    _schedule = field_validator("schedule")(classmethod(lambda cls, v: check_calendar(v)))

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: list[str]) -> list[str]:
        checked = [check_borg_repository(v) for v in value]
        twice = sorted({v for v in checked if checked.count(v) > 1})
        if twice:
            raise ValueError(f"repositories must be unique; repeated: {', '.join(twice)}")
        return checked


# --- Element Web and calls (issue 5) ----------------------------------------------------

# The Element Web release this wmx version installs: its official archive and that
# archive's SHA-256, confirmed by two independent published pins (see docs/chat.md).
DEFAULT_ELEMENT_VERSION = "1.12.25"
DEFAULT_ELEMENT_SHA256 = "14d7f2671eb1fbccc690e7f176042d72ed2b4e34f7326a007e8b1540b1e748bb"
ELEMENT_RELEASE_URL = (
    "https://github.com/element-hq/element-web/releases/download/"
    "v{version}/element-v{version}.tar.gz"
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ELEMENT_VERSION = re.compile(r"^\d+\.\d+\.\d+([a-z0-9.-]*)?$")


def _https_url(value: str) -> str:
    value = value.strip()
    if value and not re.match(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?$", value):
        raise ValueError(f"{value!r} is not an https:// URL")
    return value.rstrip("/")


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
            if not _ELEMENT_VERSION.match(value):
                raise ValueError(f"{value!r} is not an Element release number such as 1.12.25")
        return value

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip().lower()
            if not _SHA256.match(value):
                raise ValueError(f"{value!r} is not a SHA-256 (64 hexadecimal digits)")
        return value

    @field_validator("archive")
    @classmethod
    def _archive(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("give a path to a .tar.gz archive, or null to download")
        return value

    @field_validator("room_directory_servers")
    @classmethod
    def _servers(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [check_hostname(v) for v in value]

    @field_validator("jitsi_domain")
    @classmethod
    def _jitsi(cls, value: str) -> str:
        return check_hostname(value) if value else value

    _urls = field_validator("element_call_url", "identity_server")(
        classmethod(lambda cls, v: _https_url(v))
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


class TurnSettings(Strict):
    """coturn (the `turn` inventory group): relays voice and video between clients."""

    # Public name clients reach TURN at. None: homeserver.host.
    host: str | None = None
    # UDP ports coturn relays media through (opened in the firewall).
    relay_min_port: int = Field(default=49152, ge=1024, le=65535)
    relay_max_port: int = Field(default=65535, ge=1024, le=65535)
    # How long the credentials Synapse hands out stay valid.
    user_lifetime: str = "1h"
    # Guests (when synapse.guest_access is on) may use TURN too.
    allow_guests: bool = False
    # TURN over TLS on 5349 with the site's certificate (coturn on the proxy host).
    tls: bool = True
    # The public address, when the host sits behind 1:1 NAT (most clouds do not need it).
    external_ip: str | None = None

    _host = field_validator("host")(
        classmethod(lambda cls, v: None if v is None else check_hostname(v))
    )
    _lifetime = field_validator("user_lifetime")(classmethod(lambda cls, v: check_duration(v)))

    @field_validator("external_ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address") from None

    @model_validator(mode="after")
    def _range(self) -> TurnSettings:
        if self.relay_min_port > self.relay_max_port:
            raise ValueError(
                f"turn.relay_min_port ({self.relay_min_port}) is above turn.relay_max_port "
                f"({self.relay_max_port})"
            )
        return self


class SiteConfig(Strict):
    """The whole of `wmx.yaml`."""

    schema_version: int = SCHEMA_VERSION
    server_name: str
    homeserver: HomeserverSettings
    web_client: WebClientSettings
    contacts: ContactSettings
    acme: AcmeSettings
    synapse: SynapseSettings = SynapseSettings()
    postgresql: PostgresSettings = PostgresSettings()
    tls: TlsSettings = TlsSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    irc_bridge: IrcBridgeSettings = IrcBridgeSettings()
    backup: BackupSettings = BackupSettings()
    element: ElementSettings = ElementSettings()
    turn: TurnSettings = TurnSettings()

    _server_name = field_validator("server_name")(classmethod(lambda cls, v: check_hostname(v)))

    @model_validator(mode="before")
    @classmethod
    def _bridge_needs_homeserver(cls, data: Any) -> Any:
        # Said before the fields are checked: "homeserver: required" alone would not tell
        # an operator who only meant to set up the IRC bridge why.
        if isinstance(data, dict) and not data.get("homeserver"):
            bridge = data.get("irc_bridge")
            if isinstance(bridge, dict) and bridge.get("networks"):
                raise ValueError(
                    "irc_bridge.networks needs a homeserver: the IRC bridge is an "
                    "application service of Synapse; add the homeserver section "
                    "(homeserver.host) or remove irc_bridge"
                )
        return data

    @model_validator(mode="after")
    def _client_on_other_host(self) -> SiteConfig:
        # Synapse's security notes: a web client on the homeserver's own host lets
        # XSS in the client reach the Client-Server API with the user's cookies.
        if self.web_client.host in {self.homeserver.host, self.server_name}:
            raise ValueError(
                "web_client.host must differ from homeserver.host and server_name "
                "(Synapse advises serving the web client from another host name)"
            )
        return self

    @property
    def tls_names(self) -> list[str]:
        """The server name and the homeserver's, in a stable order; `public_names` adds
        those of the components a site runs (wmx.site.chat.public_names)."""
        names = [self.server_name, self.homeserver.host]
        return list(dict.fromkeys(names))

    def public_names(self, *, web_client: bool, extra: tuple[str, ...] = ()) -> list[str]:
        """Every name the proxy answers for and its certificate covers: the web client's
        joins with the element component, TURN's own with TLS on coturn."""
        names = [*self.tls_names, *([self.web_client.host] if web_client else []), *extra]
        return list(dict.fromkeys(names))

    @property
    def public_base_url(self) -> str:
        return f"https://{self.homeserver.host}/"

    @property
    def federation_endpoint(self) -> str:
        """What `/.well-known/matrix/server` advertises."""
        return f"{self.homeserver.host}:{self.homeserver.federation_port}"


_LOCALPART = re.compile(r"^[a-z0-9._=/+-]+$")


def check_localpart(value: str) -> str:
    """A Matrix user localpart as Synapse accepts it for new accounts."""
    value = value.strip().removeprefix("@").split(":", 1)[0]
    if not value or not _LOCALPART.match(value) or len(value) > 255:
        raise ValueError(
            f"{value!r} is not a valid user name (lower-case letters, digits and ._=/+- only)"
        )
    return value
