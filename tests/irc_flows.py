"""What a Matrix user does with the IRC bridge, with matrix-nio: talk to its bot, open a
network (bouncer mode), join a channel, talk in plumbed rooms. Shared by the integration
tests (a local bridge) and the e2e tests (a deployed one)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomSendResponse,
    SyncResponse,
)


@dataclass
class Seen:
    """Message events seen per room: (sender, msgtype, body)."""

    rooms: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    invites: list[tuple[str, str]] = field(default_factory=list)  # (room_id, inviter)


class MatrixUser:
    """One Matrix account as a person in Element would use it."""

    def __init__(self, homeserver: str, user_id: str, password: str, cafile: str | None) -> None:
        context = ssl.create_default_context(cafile=cafile) if cafile else None
        self.client = AsyncClient(homeserver, user_id, ssl=context)
        self.user_id = user_id
        self.password = password
        self.seen = Seen()
        self._next: str | None = None

    async def login(self) -> None:
        response = await self.client.login(self.password, device_name="wmx-irc-test")
        assert isinstance(response, LoginResponse), response
        await self.sync(0)

    async def close(self) -> None:
        await self.client.close()

    async def sync(self, timeout_ms: int = 2000) -> None:
        response = await self.client.sync(timeout=timeout_ms, since=self._next, full_state=False)
        assert isinstance(response, SyncResponse), response
        self._next = response.next_batch
        for room_id, room in response.rooms.join.items():
            for event in room.timeline.events:
                source: dict[str, Any] = getattr(event, "source", {}) or {}
                content = source.get("content") or {}
                if source.get("type") == "m.room.message" and "body" in content:
                    self.seen.rooms.setdefault(room_id, []).append(
                        (source.get("sender", ""), content.get("msgtype", ""), content["body"])
                    )
        for room_id, room in response.rooms.invite.items():
            for event in room.invite_state:
                if isinstance(event, InviteMemberEvent) and event.state_key == self.user_id:
                    self.seen.invites.append((room_id, event.sender))

    async def wait(self, check: Callable[[], Any], what: str, timeout: float = 90) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            await self.sync()
        raise AssertionError(f"{self.user_id} timed out waiting for {what}")

    async def wait_message(
        self,
        room_id: str,
        text: str,
        sender: str | None = None,
        timeout: float = 90,
        unless: str | None = None,
    ) -> tuple[str, str, str]:
        """A message with a line containing `text` (but not `unless`), from `sender` if
        given (the bot sends several notices as one message, a line each)."""

        def found() -> tuple[str, str, str] | None:
            for item in self.seen.rooms.get(room_id, []):
                if sender is not None and item[0] != sender:
                    continue
                for line in item[2].splitlines() or [item[2]]:
                    if text in line and (unless is None or unless not in line):
                        return item
            return None

        return await self.wait(found, f"{text!r} in {room_id}", timeout)  # type: ignore[no-any-return]

    async def say(self, room_id: str, body: str, msgtype: str = "m.text") -> None:
        response = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": msgtype, "body": body}
        )
        assert isinstance(response, RoomSendResponse), response

    async def join(self, room: str) -> str:
        response = await self.client.join(room)
        assert isinstance(response, JoinResponse), response
        return str(response.room_id)

    async def accept_invite(self, inviter: str, known: set[str], timeout: float = 90) -> str:
        """Join the first room `inviter` invites us to that is not in `known`."""

        def invite() -> str | None:
            for room_id, sender in self.seen.invites:
                if sender == inviter and room_id not in known:
                    return room_id
            return None

        room_id = await self.wait(invite, f"an invite from {inviter}", timeout)
        await self.join(room_id)
        return str(room_id)


async def open_bouncer_channel(
    user: MatrixUser, bot: str, network: str, channel: str
) -> tuple[str, str]:
    """Bouncer mode as a person does it: DM the bot, OPEN the network, CONNECT, JOIN the
    channel. Returns (network room, channel room)."""
    created = await user.client.room_create(is_direct=True, invite=[bot])
    assert isinstance(created, RoomCreateResponse), created
    control = created.room_id
    await user.wait_message(control, "", sender=bot)  # the bot's welcome and help
    known = {control}
    await user.say(control, f"OPEN {network}")
    network_room = await user.accept_invite(bot, known)
    known.add(network_room)
    await user.say(network_room, "CONNECT")
    # The IRC server's welcome (001), which the bot shows once the connection is up (not
    # the bot's own "Welcome to the network room"): JOIN before it would be lost.
    await user.wait_message(
        network_room, "Welcome to the", sender=bot, timeout=120, unless="network room"
    )
    await user.say(network_room, f"JOIN {channel}")
    channel_room = await user.accept_invite(bot, known)
    return network_room, channel_room


def run(coro: Any) -> Any:
    return asyncio.run(coro)
