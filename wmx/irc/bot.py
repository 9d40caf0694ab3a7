"""Talking to the bridge's bot as wmx's admin account: rooms, commands, their effect.

A command is a plain text message in a room the bot manages, as a person would type it
(`ADDNETWORK libera`); Heisenbridge answers with notices. wmx decides nothing from those
answers: it waits until the bot's account data (`wmx.irc.state`) shows the effect, and
shows the answers only to explain a command that had none in time.
"""

from __future__ import annotations

import json
import re
import shlex
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wmx.admin.http import AdminHttp, NotFoundError, endpoint
from wmx.errors import WmxError
from wmx.irc.state import CONTROL_ROOM, BridgeRoom, BridgeState, read_state

CLIENT = "/_matrix/client/v3"
COMMAND_TIMEOUT = 60.0
# The bridge answers STATUS from memory, in a second or two; a loaded host's Synapse may
# hold the answer back much longer.
STATUS_TIMEOUT = 60.0
POLL = 0.5
# Answers of the bot that mean a command failed (Heisenbridge's own words); only used to
# stop waiting early and to explain.
_FAILURE = re.compile(
    r"^(usage:|unrecognized arguments|error:|Unknown command|.*does not exist|No such|"
    r"Need to be connected|.* is reserved for admins|Failed|Invalid|Illegal)",
    re.IGNORECASE,
)


class BridgeError(WmxError):
    """The bridge did not do what wmx asked; the message says what it answered."""


def quote(*words: str) -> str:
    """A command line Heisenbridge's parser (shlex) reads back as these words."""
    return " ".join(shlex.quote(w) for w in words)


@dataclass
class Replies:
    """The bot's notices in one room since a point in the room's history."""

    texts: list[str] = field(default_factory=list)

    def failure(self) -> str | None:
        for text in self.texts:
            for line in text.splitlines():
                if _FAILURE.match(line.strip()):
                    return line.strip()
        return None

    def contains(self, pattern: str) -> bool:
        return any(re.search(pattern, t) for t in self.texts)

    def summary(self, lines: int = 3) -> str:
        flat = [line.strip() for t in self.texts for line in t.splitlines() if line.strip()]
        return " | ".join(flat[-lines:]) if flat else "no answer"


class BridgeBot:
    """The bot of one bridge, seen by `me` (wmx's admin account, the bridge's owner)."""

    def __init__(
        self,
        http: AdminHttp,
        *,
        bot_user_id: str,
        me: str,
        timeout: float = COMMAND_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.bot_user_id = bot_user_id
        self.me = me
        self.timeout = timeout
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"BridgeBot({self.bot_user_id!r}, as {self.me!r})"

    # --- state --------------------------------------------------------------------

    def state(self) -> BridgeState:
        return read_state(self.http, self.bot_user_id)

    def wait_for(
        self,
        done: Callable[[BridgeState], bool],
        what: str,
        *,
        room_id: str | None = None,
        since: str | None = None,
        timeout: float | None = None,
    ) -> BridgeState:
        """Poll the bridge's state until `done`; fail early on a failure answer in
        `room_id` (read from `since`), and explain a timeout with the bot's answers."""
        deadline = time.monotonic() + (timeout or self.timeout)
        replies = Replies()
        while True:
            state = self.state()
            if done(state):
                return state
            if room_id and since:
                since = self._collect(room_id, since, replies)
                failure = replies.failure()
                if failure:
                    raise BridgeError(f"{what}: the bridge answered: {failure}")
            if time.monotonic() > deadline:
                raise BridgeError(
                    f"{what}: no effect within {timeout or self.timeout:.0f} s "
                    f"(the bridge answered: {replies.summary()}); is it running? "
                    "`wmx irc status` tells"
                )
            self._sleep(POLL)

    # --- commands -----------------------------------------------------------------

    def command(
        self,
        room_id: str,
        text: str,
        *,
        done: Callable[[BridgeState], bool],
        what: str,
        sensitive: bool = False,
        timeout: float | None = None,
    ) -> BridgeState:
        """Send `text` to the bot in `room_id`; return the state once `done` holds.

        `sensitive` (a password in the command): the message is redacted as soon as the
        bridge has acted on it, so that it does not stay in the room's history.
        """
        since = self.position()
        event_id = self.send_text(room_id, text)
        try:
            return self.wait_for(done, what, room_id=room_id, since=since, timeout=timeout)
        finally:
            if sensitive:
                self.redact(room_id, event_id, "contained a password")

    def ask(self, room_id: str, text: str, answer: str, *, timeout: float = 15) -> Replies:
        """Send `text` and collect the bot's answers until one matches `answer` (a regular
        expression) or `timeout` passes; for questions whose answer is no state."""
        since = self.position()
        self.send_text(room_id, text)
        replies = Replies()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            since = self._collect(room_id, since, replies, wait_ms=1000)
            if replies.contains(answer):
                break
        return replies

    def relay_connected(self, room: BridgeRoom) -> bool:
        """Whether the relay's connection is up, by the bridge's own STATUS answer. A bridge
        that gives neither answer is an error, not a "no": taking it for one sent a
        RECONNECT, which drops the relay from every plumbed channel for nothing."""
        answers = r"Connected for|Not connected"
        replies = self.ask(room.room_id, "STATUS", answers, timeout=STATUS_TIMEOUT)
        if not replies.contains(answers):
            raise BridgeError(
                f"the IRC bridge did not answer STATUS in {room.name}'s room within "
                f"{STATUS_TIMEOUT:.0f} s (it said: {replies.summary(4)}); nothing was changed "
                "on that network's connection"
            )
        return replies.contains(r"Connected for")

    # --- rooms ----------------------------------------------------------------------

    def control_room(self) -> str:
        """The room where `me` gives the bot bridge-wide commands (joined, made if none)."""
        state = self.state()
        room = state.control_room(self.me)
        if room is not None:
            self.join(room.room_id)
            return room.room_id
        # A direct chat with the bot: it accepts invites to direct rooms from allowed
        # users and its owner, and makes the room its control room.
        created = self.http.post(
            f"{CLIENT}/createRoom",
            json={
                "is_direct": True,
                "invite": [self.bot_user_id],
                "preset": "trusted_private_chat",
                "name": "IRC bridge (wmx)",
            },
        )
        room_id = str(created["room_id"])
        self.wait_for(
            lambda s: any(r.room_id == room_id for r in s.live(CONTROL_ROOM, self.me)),
            "opening a control room with the IRC bridge",
        )
        return room_id

    def network_room(self, network: str) -> BridgeRoom:
        """`me`'s room for `network` (its connection), opened and joined if needed."""
        state = self.state()
        room = state.network_room(self.me, network)
        if room is None:
            control = self.control_room()
            state = self.command(
                control,
                quote("OPEN", network),
                done=lambda s: s.network_room(self.me, network) is not None,
                what=f"opening network {network}",
            )
            room = state.network_room(self.me, network)
            assert room is not None
        self.join(room.room_id)
        return room

    # --- Client-Server API ------------------------------------------------------------

    def position(self) -> str:
        """A sync token for now: the point after which answers are read."""
        data = self.http.get(
            f"{CLIENT}/sync",
            params={"filter": json.dumps(_filter([])), "timeout": 0},
        )
        return str(data["next_batch"])

    def _collect(self, room_id: str, since: str, replies: Replies, wait_ms: int = 0) -> str:
        data = self.http.get(
            f"{CLIENT}/sync",
            params={"filter": json.dumps(_filter([room_id])), "since": since, "timeout": wait_ms},
        )
        room = ((data.get("rooms") or {}).get("join") or {}).get(room_id) or {}
        for event in (room.get("timeline") or {}).get("events") or []:
            content = event.get("content") or {}
            if event.get("sender") == self.bot_user_id and isinstance(content.get("body"), str):
                replies.texts.append(content["body"])
        return str(data.get("next_batch") or since)

    def send_text(self, room_id: str, text: str) -> str:
        data = self.http.put(
            endpoint(CLIENT + "/rooms/{}/send/m.room.message/{}", room_id, uuid.uuid4().hex),
            json={"msgtype": "m.text", "body": text},
        )
        return str(data["event_id"])

    def redact(self, room_id: str, event_id: str, reason: str) -> None:
        self.http.put(
            endpoint(CLIENT + "/rooms/{}/redact/{}/{}", room_id, event_id, uuid.uuid4().hex),
            json={"reason": reason},
        )

    def join(self, room: str) -> str:
        """Join a room (an invite is pending, or it is public); joining twice is harmless."""
        data = self.http.post(endpoint(CLIENT + "/join/{}", room), json={})
        return str(data["room_id"])

    def joined_members(self, room_id: str) -> set[str]:
        data = self.http.get(endpoint(CLIENT + "/rooms/{}/joined_members", room_id))
        return set((data.get("joined") or {}).keys())

    def state_event(self, room_id: str, event_type: str, key: str = "") -> dict[str, Any] | None:
        path = endpoint(CLIENT + "/rooms/{}/state/{}/{}", room_id, event_type, key)
        try:
            data = self.http.get(path)
        except NotFoundError:
            return None
        return dict(data)

    def invite(self, room_id: str, user_id: str) -> None:
        self.http.post(endpoint(CLIENT + "/rooms/{}/invite", room_id), json={"user_id": user_id})


def _filter(rooms: Sequence[str]) -> dict[str, Any]:
    """A sync filter: message events of these rooms only, nothing else."""
    return {
        "presence": {"types": []},
        "account_data": {"types": []},
        "room": {
            "rooms": list(rooms),
            "timeline": {"types": ["m.room.message"], "limit": 50},
            "state": {"types": []},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
        },
    }
