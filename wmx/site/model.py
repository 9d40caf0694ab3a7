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


class SynapseSettings(Strict):
    version: str = DEFAULT_SYNAPSE_VERSION
    registration: Registration = Registration.closed
    max_upload_size_mb: int = Field(default=50, ge=1, le=2048)
    url_previews: bool = False
    presence: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError(f"{value!r} is not a Synapse release number such as 1.163.2")
        return value


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

    @model_validator(mode="after")
    def _keeps_something(self) -> BackupRetention:
        if not (self.daily or self.weekly or self.monthly):
            raise ValueError(
                "backup.retention keeps nothing: set daily, weekly or monthly above 0"
            )
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
        """Every public name the proxy answers for, in a stable order."""
        # The web client's name joins this list with the element component.
        names = [self.server_name, self.homeserver.host]
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
