"""coturn's settings (`turn:` in wmx.yaml): calls relayed between clients."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator, model_validator

from wmx.site.grammars import check_duration, check_hostname, no_control
from wmx.site.settings.section import Section
from wmx.site.validation import cross_field


class TurnSettings(Section):
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
        no_control(value, "IP address")  # "192.0.2.1\n" is refused, not trimmed
        try:
            return str(ipaddress.ip_address(value.strip(" ")))
        except ValueError:
            raise ValueError(f"{value[:80]!r} is not an IP address") from None

    @model_validator(mode="after")
    def _range(self) -> TurnSettings:
        if self.relay_min_port > self.relay_max_port:
            raise cross_field(
                "relay_min_port",
                f"turn.relay_min_port ({self.relay_min_port}) is above turn.relay_max_port "
                f"({self.relay_max_port})",
            )
        return self
