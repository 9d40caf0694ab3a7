"""The IRC bridge's settings (`irc_bridge:` in wmx.yaml): Heisenbridge, its networks and
Libera.Chat's expectations."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_serializer

from wmx.site.grammars import (
    _TEMPLATE,
    check_host_or_ip,
    check_port,
    check_release,
    check_user_masks,
    no_control,
)
from wmx.site.releases import DEFAULT_HEISENBRIDGE_VERSION
from wmx.site.settings.section import Section

LIBERA_CHAT_SERVER = "irc.libera.chat:6697:tls"
_IRC_NETWORK = re.compile(r"[a-z][a-z0-9_-]{0,31}", re.ASCII)
# RFC 2812 nicknames, at most 16 characters (Libera.Chat's NICKLEN).
_IRC_NICK = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,15}", re.ASCII)
_RELAY_TAG = re.compile(r"[A-Za-z0-9_\[\]|{}-]{1,10}", re.ASCII)
# Both grammars hold `{` and `|`, so `{{x}}` is a nick: no setting of a site may look like
# a template (grammars._TEMPLATE), whatever the grammar beside it would take.
_NO_TEMPLATE = "no template syntax ({{, {% or {#)"


def check_irc_host(value: str) -> str:
    """An IRC server: a DNS name or an IP address."""
    return check_host_or_ip(value)


class IrcServer(Section):
    """One server of a network. In wmx.yaml: `host:port`, or `host:port:tls`."""

    host: str
    port: int = Field(ge=1, le=65535)
    tls: bool = False

    _host = field_validator("host")(classmethod(lambda cls, v: check_irc_host(v)))

    @classmethod
    def _short_form(cls, value: Any) -> Any:
        # The form wmx writes (_as_text); a mapping of host, port and tls is read too.
        if isinstance(value, dict | cls):
            return value
        if not isinstance(value, str):
            raise ValueError(
                f"a server is host:port or host:port:tls (such as {LIBERA_CHAT_SERVER})"
            )
        # "irc.oftc.net:6697:tls\n" is refused, not trimmed (no_control)
        host, _, rest = no_control(value, "server").strip(" ").partition(":")
        port, _, flag = rest.partition(":")
        try:
            number = check_port(port)
        except ValueError:
            number = 0
        if not host or not number or flag not in ("", "tls"):
            raise ValueError(
                f"{value[:80]!r} is not host:port or host:port:tls (such as {LIBERA_CHAT_SERVER})"
            )
        return {"host": host, "port": number, "tls": flag == "tls"}

    @model_serializer
    def _as_text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}" + (":tls" if self.tls else "")


class IrcNetwork(Section):
    name: str
    servers: list[IrcServer] = Field(min_length=1)
    # The relay connection signs in to the network's services with SASL PLAIN, as the
    # account named like the relay's nick, with `irc_relay_password` from secrets.yml.
    sasl: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _IRC_NETWORK.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a network name (lower-case letters, digits, - and _, "
                "starting with a letter, such as libera)"
            )
        return value


def _libera_chat() -> list[IrcNetwork]:
    libera = IrcServer(host="irc.libera.chat", port=6697, tls=True)
    return [IrcNetwork(name="libera", servers=[libera], sasl=True)]


class IrcRelaySettings(Section):
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
        if value is not None and _TEMPLATE.search(value):
            raise ValueError(f"{value[:40]!r} is not an IRC nick: {_NO_TEMPLATE}")
        if value is not None and not _IRC_NICK.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an IRC nick (at most 16 letters, digits and -[]\\`_^{{|}}, "
                "not starting with a digit or -)"
            )
        return value

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if _TEMPLATE.search(value):
            raise ValueError(f"{value[:40]!r} is not a relay tag: {_NO_TEMPLATE}")
        if not _RELAY_TAG.fullmatch(value):
            raise ValueError(f"{value!r}: use 1 to 10 letters, digits and _[]|{{}}- only")
        return value


class IrcBridgeSettings(Section):
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
        return check_release(value, "Heisenbridge", "1.15.4")

    @field_validator("networks")
    @classmethod
    def _unique(cls, value: list[IrcNetwork]) -> list[IrcNetwork]:
        names = [n.name for n in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"network names must be unique; repeated: {', '.join(twice)}")
        return value

    _masks = field_validator("allowed_users", "admins")(
        classmethod(lambda cls, v: check_user_masks(v))
    )

    def network(self, name: str) -> IrcNetwork | None:
        return next((n for n in self.networks if n.name == name), None)
