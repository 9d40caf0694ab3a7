"""The typed model of a site: what `wmx.yaml` may say, and the rules across fields.

Each component's section is defined in `wmx.site.settings.<component>` (the untrusted
input boundary stays in wmx.site, below the components that read it); this module
composes them into `SiteConfig` with the site-wide sections and the cross-field rules.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from wmx.agent.wikimedia_login import max_localpart
from wmx.site.calendar import check_calendar
from wmx.site.grammars import (
    NON_PUBLIC_RANGES,
    Strict,
    check_email,
    check_hostname,
    check_localpart,
    duration_ms,
)
from wmx.site.releases import (
    DEFAULT_ELEMENT_SHA256,
    DEFAULT_ELEMENT_VERSION,
    DEFAULT_HEISENBRIDGE_VERSION,
    DEFAULT_SYNAPSE_VERSION,
    ELEMENT_RELEASE_URL,
)
from wmx.site.settings.backup import BackupRetention, BackupSettings
from wmx.site.settings.element import ElementSettings
from wmx.site.settings.irc_bridge import (
    LIBERA_CHAT_SERVER,
    IrcBridgeSettings,
    IrcNetwork,
    IrcRelaySettings,
    IrcServer,
)
from wmx.site.settings.login import LoginSettings
from wmx.site.settings.monitoring import MonitoringSettings, RemoteScrapeSettings, SmtpSettings
from wmx.site.settings.nginx import LETS_ENCRYPT_DIRECTORY, AcmeSettings, TlsSettings
from wmx.site.settings.postgresql import PostgresSettings
from wmx.site.settings.section import Section
from wmx.site.settings.synapse import (
    LoginRateLimit,
    MediaSettings,
    PrivacySettings,
    Registration,
    RetentionSettings,
    SynapseEmailSettings,
    SynapseSettings,
    UrlPreviewSettings,
)
from wmx.site.settings.turn import TurnSettings
from wmx.site.settings.web_client import WebClientSettings
from wmx.site.settings.workers import pool_sizes
from wmx.site.validation import cross_field

# Names other modules have imported from here since before the split.
__all__ = [
    "DEFAULT_ELEMENT_SHA256",
    "DEFAULT_ELEMENT_VERSION",
    "DEFAULT_HEISENBRIDGE_VERSION",
    "DEFAULT_SYNAPSE_VERSION",
    "ELEMENT_RELEASE_URL",
    "LETS_ENCRYPT_DIRECTORY",
    "LIBERA_CHAT_SERVER",
    "NON_PUBLIC_RANGES",
    "SCHEMA_VERSION",
    "AcmeSettings",
    "BackupRetention",
    "BackupSettings",
    "ContactSettings",
    "ElementSettings",
    "HomeserverSettings",
    "IrcBridgeSettings",
    "IrcNetwork",
    "IrcRelaySettings",
    "IrcServer",
    "LoginRateLimit",
    "LoginSettings",
    "MediaSettings",
    "MonitoringSettings",
    "PostgresSettings",
    "PrivacySettings",
    "Registration",
    "RemoteScrapeSettings",
    "RetentionSettings",
    "SiteConfig",
    "SmtpSettings",
    "SynapseEmailSettings",
    "SynapseSettings",
    "TlsSettings",
    "TurnSettings",
    "UrlPreviewSettings",
    "WebClientSettings",
    "check_calendar",
    "check_email",
    "check_hostname",
    "check_localpart",
    "duration_ms",
]

# 2: the web client's release moved from element.{version,sha256,archive} to web_client.*
# (wmx.site.migrate).
SCHEMA_VERSION = 2


class HomeserverSettings(Section):
    host: str = Field(description="public host name of the client and federation API")
    federation: bool = True
    federation_port: Literal[443, 8448] = 443

    _host = field_validator("host")(classmethod(lambda cls, v: check_hostname(v)))


class ContactSettings(Section):
    admin_email: str

    _email = field_validator("admin_email")(classmethod(lambda cls, v: check_email(v)))


def _current_schema(value: int) -> int:
    # Read files are migrated to it first (wmx.site.migrate); only `wmx config set
    # schema_version` could bring another, and would write a file wmx then misreads.
    if value != SCHEMA_VERSION:
        raise ValueError(
            f"wmx's own: the form this file is written in ({SCHEMA_VERSION}), kept by "
            "wmx; not a setting to change"
        )
    return value


# The shortest wiki user name a site with `login:` must leave room for (wmx.agent.wikimedia_login).
MIN_WIKI_NAME = 16


class SiteConfig(Strict):
    """The whole of `wmx.yaml`."""

    schema_version: int = SCHEMA_VERSION
    _schema = field_validator("schema_version")(classmethod(lambda cls, v: _current_schema(v)))
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
    login: LoginSettings = LoginSettings()

    _server_name = field_validator("server_name")(classmethod(lambda cls, v: check_hostname(v)))

    @model_validator(mode="before")
    @classmethod
    def _bridge_needs_homeserver(cls, data: Any) -> Any:
        # Said before the fields are checked: "homeserver: required" alone would not tell
        # an operator who only meant to set up the IRC bridge why.
        if isinstance(data, dict) and not data.get("homeserver"):
            bridge = data.get("irc_bridge")
            if isinstance(bridge, dict) and bridge.get("networks"):
                raise cross_field(
                    "irc_bridge.networks",
                    "irc_bridge.networks needs a homeserver: the IRC bridge is an "
                    "application service of Synapse; add the homeserver section "
                    "(homeserver.host) or remove irc_bridge",
                )
        return data

    @model_validator(mode="after")
    def _client_on_other_host(self) -> SiteConfig:
        # Synapse's security notes: a web client on the homeserver's own host lets
        # XSS in the client reach the Client-Server API with the user's cookies.
        if self.web_client.host in {self.homeserver.host, self.server_name}:
            raise cross_field(
                "web_client.host",
                "web_client.host must differ from homeserver.host and server_name "
                "(Synapse advises serving the web client from another host name)",
            )
        return self

    @model_validator(mode="after")
    def _sul_only_registration(self) -> SiteConfig:
        # SUL-only (docs/login.md): accounts come from the wiki, never from registration.
        if self.login.sul_only and self.synapse.registration != "closed":
            raise cross_field(
                "login.sul_only",
                "login.sul_only: people get their account by logging in with the wiki; "
                "set synapse.registration: closed",
            )
        return self

    @model_validator(mode="after")
    def _login_names_fit(self) -> SiteConfig:
        # A wiki account's user id is @NAME:server_name, at most 255 characters in all.
        if self.login.enabled and max_localpart(self.server_name) < MIN_WIKI_NAME:
            raise cross_field(
                "login.provider",
                f"server_name is too long for logins with the wiki: a Matrix user id "
                f"(@NAME:{self.server_name[:40]}…) would leave fewer than "
                f"{MIN_WIKI_NAME} characters for NAME",
            )
        return self

    @model_validator(mode="after")
    def _pools_fit(self) -> SiteConfig:
        # Every Synapse process's connection pool, and a reserve, within max_connections.
        try:
            pool_sizes(self.synapse.workers.processes, self.postgresql.max_connections)
        except ValueError as exc:
            raise cross_field("synapse.workers", str(exc)) from None
        return self

    @property
    def tls_names(self) -> list[str]:
        """The server name and the homeserver's, in a stable order; `public_names` adds
        those of the components a site runs (wmx.components.nginx)."""
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
