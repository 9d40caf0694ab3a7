"""The typed model of a site: what `wmx.yaml` may say, and the rules across fields.

Everything that decides what a config file says is derived here (or in templates),
never in playbooks: the renderer hands these objects to Jinja as they are.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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

    _server_name = field_validator("server_name")(classmethod(lambda cls, v: check_hostname(v)))

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
