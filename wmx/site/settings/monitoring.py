"""Monitoring's settings (`monitoring:` in wmx.yaml): alerting, scraping, retention."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator, model_validator

from wmx.site.grammars import Strict, check_email

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
