"""What `wmx irc` does: make the bridge match wmx.yaml, run the relay connection, plumb
IRC channels into Matrix rooms, and say how the bridge is doing.

Everything is idempotent: each step reads the bridge's state first and only sends the
commands that change something, so running a command twice changes nothing the second
time, and an interrupted run is finished by the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from wmx.admin.account import admin_session, admin_user_id
from wmx.admin.http import AdminApiError, NotFoundError, endpoint
from wmx.components.irc_bridge import IrcBridgeView, allow_masks
from wmx.errors import InputError, WmxError
from wmx.irc.bot import CLIENT, BridgeBot, BridgeError, quote
from wmx.irc.names import bridge_view, check_channel, check_network, room_alias_for
from wmx.irc.state import BridgeRoom, BridgeState, ServerEntry, digest
from wmx.site import Site
from wmx.site.model import IrcNetwork

if TYPE_CHECKING:
    from wmx.irc.channels import ChannelEntry

# Re-exported: callers and tests name them from here.
__all__ = [
    "BridgeManager",
    "PlumbResult",
    "SyncReport",
    "bridge_session",
    "bridge_view",
    "check_channel",
    "check_network",
    "room_alias_for",
]

CONNECT_TIMEOUT = 120.0


@dataclass(frozen=True)
class PlumbResult:
    channel: str
    network: str
    outcome: str  # plumbed, already plumbed, unplumbed, not plumbed, failed
    room_id: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class SyncReport:
    changes: list[str] = field(default_factory=list)


class BridgeManager:
    """The bridge of one site, driven through its bot by wmx's admin account."""

    def __init__(
        self, bot: BridgeBot, site: Site, view: IrcBridgeView, *, sleep: Callable[[float], None]
    ) -> None:
        self.bot = bot
        self.site = site
        self.view = view
        self._sleep = sleep

    @property
    def me(self) -> str:
        return self.bot.me

    # --- wmx.yaml → the bridge ---------------------------------------------------

    def sync(self) -> SyncReport:
        """Make networks, allow masks and room defaults match wmx.yaml, and bring every
        existing relay connection and plumbed room in line with the relay settings."""
        report = SyncReport()
        state = self.bot.state()
        control = self.bot.control_room()
        self._sync_networks(control, state, report)
        state = self._sync_masks(control, self.bot.state(), report)
        self._sync_defaults(control, state, report)
        for network in self.site.config.irc_bridge.networks:
            room = self.bot.state().network_room(self.me, network.name)
            if room is None:
                continue  # no relay yet: the first plumb on this network makes it
            if self._configure_relay(room, network, report) and room.connected:
                # Realname and SASL count when connecting: the relay reconnects (its
                # channels rejoin by themselves).
                self.bot.send_text(room.room_id, "RECONNECT")
                report.changes.append(f"{network.name}: relay reconnected")
            for channel in sorted(self.bot.state().plumbed(room)):
                self._configure_plumb(room, channel, report)
        return report

    def _sync_networks(self, control: str, state: BridgeState, report: SyncReport) -> None:
        have = state.networks
        wanted = {n.name: n for n in self.site.config.irc_bridge.networks}
        for name in sorted(set(have) - set(wanted)):
            self.bot.command(
                control,
                quote("DELNETWORK", name),
                done=_network_is(name, present=False),
                what=f"removing network {name}",
            )
            report.changes.append(f"removed network {name} (no longer in wmx.yaml)")
        for name, network in wanted.items():
            servers = [ServerEntry(s.host, s.port, s.tls) for s in network.servers]
            if name not in have:
                self.bot.command(
                    control,
                    quote("ADDNETWORK", name),
                    done=_network_is(name, present=True),
                    what=f"adding network {name}",
                )
                report.changes.append(f"added network {name}")
                current: list[ServerEntry] = []
            else:
                current = have[name]
            if current == servers:
                continue
            # Heisenbridge tries servers in their order: rebuild the list when it differs.
            for server in current:
                self.bot.command(
                    control,
                    quote("DELSERVER", name, server.address, str(server.port)),
                    done=_server_gone(name, server),
                    what=f"removing server {server} from {name}",
                )
            for index, server in enumerate(servers):
                words = ["ADDSERVER", name, server.address, str(server.port)]
                if server.tls:
                    words.append("--tls")
                self.bot.command(
                    control,
                    quote(*words),
                    done=_servers_start(name, servers[: index + 1]),
                    what=f"adding server {server} to {name}",
                )
            report.changes.append(
                f"servers of {name}: {', '.join(str(s) for s in servers)}"
                + (f" (were {', '.join(str(s) for s in current)})" if current else "")
            )

    def _sync_masks(self, control: str, state: BridgeState, report: SyncReport) -> BridgeState:
        wanted = allow_masks(self.site.config)
        have = state.allow
        for mask in sorted(have):
            if wanted.get(mask) != have[mask]:
                state = self.bot.command(
                    control,
                    quote("DELMASK", mask),
                    done=_mask_is(mask, None),
                    what=f"removing allow mask {mask}",
                )
                if mask not in wanted:
                    report.changes.append(f"removed allow mask {mask}")
        for mask, level in sorted(wanted.items()):
            if state.allow.get(mask) == level:
                continue
            words = ["ADDMASK", mask] + (["--admin"] if level == "admin" else [])
            state = self.bot.command(
                control,
                quote(*words),
                done=_mask_is(mask, level),
                what=f"allowing {mask}",
            )
            report.changes.append(f"allowed {mask} ({level})")
        return state

    def _sync_defaults(self, control: str, state: BridgeState, report: SyncReport) -> None:
        relay = self.site.config.irc_bridge.relay
        if state.config.get("max_lines") != relay.max_lines:
            self.bot.command(
                control,
                quote("MAXLINES", str(relay.max_lines)),
                done=lambda s: s.config.get("max_lines") == relay.max_lines,
                what="setting the default of max lines",
            )
            report.changes.append(f"new rooms: at most {relay.max_lines} lines per message")
        if bool(state.config.get("use_pastebin")) != relay.pastebin:
            flag = "--enable" if relay.pastebin else "--disable"
            self.bot.command(
                control,
                quote("PASTEBIN", flag),
                done=lambda s: bool(s.config.get("use_pastebin")) == relay.pastebin,
                what="setting the default of pastebin",
            )
            report.changes.append(f"new rooms: pastebin {'on' if relay.pastebin else 'off'}")

    # --- the relay connection ------------------------------------------------------

    def _configure_relay(self, room: BridgeRoom, network: IrcNetwork, report: SyncReport) -> bool:
        """Nick, realname and SASL of `me`'s connection; True if a reconnect is needed."""
        nick, realname = self.view.relay_nick, self.view.realname
        reconnect = False
        rid = room.room_id

        def current(s: BridgeState) -> BridgeRoom:
            found = s.rooms.get(rid)
            assert found is not None
            return found

        if room.settings.get("nick") != nick:
            self.bot.command(
                rid,
                quote("NICK", nick),
                done=lambda s: current(s).settings.get("nick") == nick,
                what=f"setting the relay's nick on {network.name}",
            )
            report.changes.append(f"{network.name}: relay nick {nick}")
        if room.settings.get("ircname") != realname:
            self.bot.command(
                rid,
                quote("REALNAME", realname),
                done=lambda s: current(s).settings.get("ircname") == realname,
                what=f"setting the relay's realname on {network.name}",
            )
            report.changes.append(f"{network.name}: relay realname {realname!r}")
            reconnect = True
        password = self.site.secrets.irc_relay_password
        if network.sasl:
            if room.settings.get("sasl_username") != nick or room.sasl_password_digest != digest(
                password
            ):
                self.bot.command(
                    rid,
                    quote("SASL", "--username", nick, "--password", password),
                    done=lambda s: (
                        current(s).settings.get("sasl_username") == nick
                        and current(s).sasl_password_digest == digest(password)
                    ),
                    what=f"setting the relay's SASL account on {network.name}",
                    sensitive=True,
                )
                report.changes.append(f"{network.name}: relay signs in with SASL as {nick}")
                reconnect = True
        elif room.settings.get("sasl_username") or room.sasl_password_digest:
            self.bot.command(
                rid,
                quote("SASL", "--remove"),
                done=lambda s: not current(s).settings.get("sasl_username"),
                what=f"removing the relay's SASL account on {network.name}",
            )
            report.changes.append(f"{network.name}: relay without SASL")
            reconnect = True
        return reconnect

    def ensure_relay(self, network: IrcNetwork, report: SyncReport) -> BridgeRoom:
        """`me`'s connection to `network`, configured and connected."""
        room = self.bot.network_room(network.name)
        reconnect = self._configure_relay(room, network, report)
        state = self.bot.state()
        room = state.rooms[room.room_id]
        since = self.bot.position()
        if not room.connected:
            self.bot.command(
                room.room_id,
                "CONNECT",
                done=lambda s: s.rooms[room.room_id].connected,
                what=f"connecting the relay to {network.name}",
                timeout=CONNECT_TIMEOUT,
            )
            report.changes.append(f"{network.name}: relay connected")
        elif reconnect or not self.bot.relay_connected(room):
            self.bot.send_text(room.room_id, "RECONNECT")
        else:
            return room
        self._wait_registered(room, network, since)
        return self.bot.state().rooms[room.room_id]

    def _wait_registered(self, room: BridgeRoom, network: IrcNetwork, since: str) -> None:
        """Until the server has welcomed the connection (its 001 reply, which Heisenbridge
        shows in the network room)."""
        from wmx.irc.bot import Replies

        replies = Replies()
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while time.monotonic() < deadline:
            since = self.bot._collect(room.room_id, since, replies, wait_ms=2000)
            if replies.contains(r"(?i)welcome to"):
                return
            failure = replies.failure()
            if failure and "Failed to connect" in failure:
                raise BridgeError(f"the relay cannot connect to {network.name}: {failure}")
        raise BridgeError(
            f"the relay did not connect to {network.name} within {CONNECT_TIMEOUT:.0f} s "
            f"(the bridge said: {replies.summary(4)})"
        )

    # --- plumbing ------------------------------------------------------------------

    def plumb(self, channel: str, room: str | None, network: IrcNetwork) -> PlumbResult:
        """Bridge `channel` into `room` (made if None) in relay mode."""
        report = SyncReport()
        relay = self.ensure_relay(network, report)
        state = self.bot.state()
        existing = state.plumbed(relay).get(channel.lower())
        room_id = self._room_for(channel, room, network)
        if existing is not None:
            if existing.room_id != room_id:
                return PlumbResult(
                    channel,
                    network.name,
                    "failed",
                    existing.room_id,
                    f"already plumbed to {existing.room_id}; `wmx irc unplumb` it first",
                )
            self._configure_plumb(relay, channel, report)
            return PlumbResult(
                channel, network.name, "already plumbed", room_id, "; ".join(report.changes)
            )
        self._let_bot_in(room_id)
        self.bot.command(
            relay.room_id,
            quote("PLUMB", room_id, channel),
            done=lambda s: channel.lower() in s.plumbed(s.rooms[relay.room_id]),
            what=f"plumbing {channel} into {room_id}",
        )
        self._configure_plumb(relay, channel, report)
        return PlumbResult(channel, network.name, "plumbed", room_id)

    def unplumb(self, channel: str, network: IrcNetwork) -> PlumbResult:
        state = self.bot.state()
        relay = state.network_room(self.me, network.name)
        plumbed = state.plumbed(relay) if relay else {}
        found = plumbed.get(channel.lower())
        if relay is None or found is None:
            return PlumbResult(channel, network.name, "not plumbed")
        self.bot.command(
            relay.room_id,
            quote("UNPLUMB", channel),
            done=lambda s: not s.rooms[found.room_id].joined,
            what=f"unplumbing {channel}",
        )
        return PlumbResult(channel, network.name, "unplumbed", found.room_id)

    def _configure_plumb(self, relay: BridgeRoom, channel: str, report: SyncReport) -> None:
        """The relay settings of wmx.yaml on one plumbed room."""
        settings = self.site.config.irc_bridge.relay
        wanted: list[tuple[str, Any, list[str]]] = [
            ("use_zwsp", settings.zero_width_space, ["ZWSP", _flag(settings.zero_width_space)]),
            (
                "use_displaynames",
                settings.displaynames,
                ["DISPLAYNAMES", _flag(settings.displaynames)],
            ),
            ("relaytag", settings.tag, ["RELAYTAG", settings.tag]),
            ("max_lines", settings.max_lines, ["MAXLINES", str(settings.max_lines)]),
            ("use_pastebin", settings.pastebin, ["PASTEBIN", _flag(settings.pastebin)]),
        ]

        def room_of(s: BridgeState) -> BridgeRoom:
            found = s.plumbed(s.rooms[relay.room_id]).get(channel.lower())
            if found is None:
                raise BridgeError(f"{channel} is no longer plumbed")
            return found

        current = room_of(self.bot.state())
        for key, value, words in wanted:
            if current.settings.get(key) == value:
                continue
            current = room_of(
                self.bot.command(
                    relay.room_id,
                    quote("ROOM", channel, *words),
                    done=_setting_is(room_of, key, value),
                    what=f"setting {key} of {channel}",
                )
            )
            report.changes.append(f"{channel}: {key} = {value}")

    def _room_for(self, channel: str, room: str | None, network: IrcNetwork) -> str:
        """The room id to plumb into: the one given, or wmx's room for the channel."""
        http = self.bot.http
        if room is not None:
            if room.startswith("#"):
                try:
                    data = http.get(endpoint(CLIENT + "/directory/room/{}", room))
                except NotFoundError:
                    raise InputError(f"unknown room alias {room} (it points to no room)") from None
                room_id = str(data["room_id"])
            else:
                room_id = room
            self._check_room(room_id)
            return room_id
        alias = room_alias_for(network.name, channel, self.site.config.server_name)
        try:
            data = http.get(endpoint(CLIENT + "/directory/room/{}", alias))
            return str(data["room_id"])
        except NotFoundError:
            pass
        created = http.post(
            f"{CLIENT}/createRoom",
            json={
                "name": channel,
                "topic": f"{channel} on {network.name}, bridged to IRC",
                "preset": "public_chat",
                "room_alias_name": alias[1:].split(":", 1)[0],
                "visibility": "private",
            },
        )
        return str(created["room_id"])

    def _check_room(self, room_id: str) -> None:
        """The room exists, is not encrypted (the bridge cannot read it), and wmx's
        account is in it (to invite the bot)."""
        http = self.bot.http
        try:
            http.get(endpoint("/_synapse/admin/v1/rooms/{}", room_id))
        except NotFoundError:
            raise InputError(f"unknown room {room_id} (this homeserver does not know it)") from None
        if self.me not in self._members(room_id):
            # Server admins may join any room of their server (Synapse invites them
            # through a local member with the power to, for private rooms).
            http.post(endpoint("/_synapse/admin/v1/join/{}", room_id), json={"user_id": self.me})
        if self.bot.state_event(room_id, "m.room.encryption"):
            raise InputError(
                f"{room_id} is end-to-end encrypted: the bridge cannot read it; plumb the "
                "channel into an unencrypted room (or let wmx make one)"
            )

    def _members(self, room_id: str) -> list[str]:
        data = self.bot.http.get(endpoint("/_synapse/admin/v1/rooms/{}/members", room_id))
        return [str(m) for m in data.get("members") or []]

    def _let_bot_in(self, room_id: str) -> None:
        """Invite the bot unless it may join by itself (a public room) or is in."""
        if self.view.bot_user_id in self.bot.joined_members(room_id):
            return
        rules = self.bot.state_event(room_id, "m.room.join_rules") or {}
        if rules.get("join_rule") != "public":
            try:
                self.bot.invite(room_id, self.view.bot_user_id)
            except AdminApiError as exc:
                raise BridgeError(
                    f"cannot invite the bridge into {room_id}: {exc}; give "
                    f"{self.me} the power to invite there"
                ) from None

    def plumb_each(self, entries: Iterable[ChannelEntry]) -> list[PlumbResult]:
        """Plumb each channel of a file; a failure is that channel's result."""
        results: list[PlumbResult] = []
        for entry in entries:
            network = check_network(self.site, entry.network)
            try:
                results.append(self.plumb(entry.channel, entry.room, network))
            except WmxError as exc:
                results.append(PlumbResult(entry.channel, entry.network, "failed", "", str(exc)))
        return results


Check = Callable[[BridgeState], bool]


def _network_is(name: str, *, present: bool) -> Check:
    return lambda s: (name in s.networks) == present


def _server_gone(name: str, server: ServerEntry) -> Check:
    return lambda s: server not in s.networks.get(name, [])


def _servers_start(name: str, prefix: list[ServerEntry]) -> Check:
    return lambda s: s.networks.get(name, [])[: len(prefix)] == prefix


def _mask_is(mask: str, level: str | None) -> Check:
    return lambda s: s.allow.get(mask) == level


def _setting_is(room_of: Callable[[BridgeState], BridgeRoom], key: str, value: Any) -> Check:
    return lambda s: room_of(s).settings.get(key) == value


def _flag(on: bool) -> str:
    return "--enable" if on else "--disable"


@contextmanager
def bridge_session(site: Site, url: str | None = None) -> Iterator[BridgeManager]:
    """A `BridgeManager` signed in as wmx's admin account; closes everything after."""
    view = bridge_view(site)
    with admin_session(site, url) as admin:
        bot = BridgeBot(admin.http, bot_user_id=view.bot_user_id, me=admin_user_id(site))
        yield BridgeManager(bot, site, view, sleep=time.sleep)
