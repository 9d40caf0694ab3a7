"""Monitoring's settings (`monitoring:` in wmx.yaml): alerting, scraping, retention."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator, model_validator

from wmx.site.grammars import (
    OptionalEmail,
    OptionalSmtpUser,
    check_email,
    check_host_port,
    check_networks,
    check_url,
)
from wmx.site.settings.section import Section
from wmx.site.validation import cross_field

_USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
# monitoring.remote_scrape.allow: no network wider than these prefix lengths (IPv4's /8
# is a private network such as 10.0.0.0/8, IPv6's /32 a provider's allocation).
WIDEST_ALLOWED = {4: 8, 6: 32}


class SmtpSettings(Section):
    """How Alertmanager sends alert e-mail. The password is in secrets.yml."""

    smarthost: str = ""  # host:port of the mail relay; empty: no e-mail
    sender: OptionalEmail = ""  # the From: address
    username: OptionalSmtpUser = ""  # empty: no SMTP authentication
    require_tls: bool = True

    @field_validator("smarthost")
    @classmethod
    def _smarthost(cls, value: str) -> str:
        return check_host_port(value) if value else value


class RemoteScrapeSettings(Section):
    """Remote Prometheus servers that may read this site's metrics (federation)."""

    allow: list[str] = Field(default_factory=list)  # addresses or networks; empty: nobody
    user: str = "wmx-remote"

    @field_validator("allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        # An address stays as written; a network loses its host bits (nft refuses them).
        networks = check_networks(value)
        for network in map(ipaddress.ip_network, networks):
            # Prometheus answers over plain HTTP with basic auth: the allow list names the
            # remote servers' networks, never a good part of the internet.
            widest = WIDEST_ALLOWED[network.version]
            if network.prefixlen < widest:
                raise ValueError(
                    f"{network} is wider than a /{widest}: Prometheus would answer most of "
                    "the internet (over plain HTTP); name your Prometheus servers' "
                    "addresses or networks"
                )
        return [v if "/" not in v else n for v, n in zip(value, networks, strict=True)]

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        if not _USERNAME.fullmatch(value):
            raise ValueError(f"{value!r}: use letters, digits and ._- only (at most 64)")
        return value


class MonitoringSettings(Section):
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
        return check_url(value, ("http", "https")) if value else value

    @model_validator(mode="after")
    def _mail_needs_relay(self) -> MonitoringSettings:
        if self.alert_emails and not (self.smtp.smarthost and self.smtp.sender):
            raise cross_field(
                "alert_emails",
                "monitoring.alert_emails needs monitoring.smtp.smarthost and "
                "monitoring.smtp.sender (the relay and From: address)",
            )
        return self
