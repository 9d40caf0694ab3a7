"""The load itself, through the client API with matrix-nio (a maintained Matrix client
library): every account syncs as a client does, senders follow a fixed schedule, and
each message's arrival in another member's /sync is timed.

The schedule is open: message i starts at i/rate seconds whatever became of earlier
ones, so a slow server shows as latency and lost messages, not as a slower sender.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    RoomCreateResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)

from wmx.bench.accounts import BenchAccount
from wmx.bench.spec import BenchResult, BenchSpec
from wmx.errors import WmxError

# The event field that carries a message's number in the run (namespaced, per the spec).
MARK = "org.wikimedia.wmx.bench"
# Long-poll of each /sync, in milliseconds: what a client's is, and short enough that the
# run ends promptly.
SYNC_POLL_MS = 10_000
# Only what the bench reads: room timelines of m.room.message; nothing else is sent.
SYNC_FILTER: dict[str, Any] = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {
        "timeline": {"limit": 100, "types": ["m.room.message"]},
        "state": {"lazy_load_members": True, "types": []},
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
    },
}


@dataclass
class Progress:
    """What the run has done so far, passed to the progress callback."""

    total: int
    sent: int = 0
    received: int = 0
    errors: int = 0


Report = Callable[[Progress], None]


def _error_name(response: object) -> str:
    status = getattr(response, "status_code", None)
    message = getattr(response, "message", None) or type(response).__name__
    return str(status or message)


class LoadRun:
    """One run's clients, rooms and measurements; `await run()`."""

    def __init__(
        self,
        spec: BenchSpec,
        client_url: str,
        accounts: list[BenchAccount],
        result: BenchResult,
        *,
        tls: ssl.SSLContext | None = None,
        report: Report | None = None,
    ) -> None:
        self.spec = spec
        self.client_url = client_url
        self.result = result
        self.report = report or (lambda _progress: None)
        self.progress = Progress(total=spec.messages)
        config = AsyncClientConfig(
            encryption_enabled=False,
            store_sync_tokens=False,
            max_limit_exceeded=0,  # a 429 is a figure, not something to wait out
            max_timeouts=0,
            request_timeout=60,
        )
        self.clients: list[AsyncClient] = []
        for account in accounts:
            client = AsyncClient(client_url, account.user_id, config=config, ssl=tls)
            client.access_token = account.token
            self.clients.append(client)
        self.room_ids: list[str] = []
        self._sent_at: dict[str, float] = {}
        self._arrived: set[str] = set()
        self._last_arrival = 0.0

    async def check_server(self, expected_user: str) -> None:
        """The client URL must reach the site's own homeserver: it knows the token."""
        response = await self.clients[0].whoami()
        if not isinstance(response, WhoamiResponse) or response.user_id != expected_user:
            raise WmxError(
                f"{self.clients[0].homeserver} is not this site's homeserver (it does not "
                f"know the account wmx just made there: {_error_name(response)})"
            )

    async def make_rooms(self, run_id: str) -> None:
        """Room m is created by user m and joined by users m + k·rooms."""
        for m in range(self.spec.rooms):
            created = await self.clients[m].room_create(
                name=f"wmx bench {run_id} #{m}", preset=RoomPreset.public_chat, federate=False
            )
            if not isinstance(created, RoomCreateResponse):
                raise WmxError(f"cannot create a bench room: {_error_name(created)}")
            self.room_ids.append(created.room_id)
        for user, client in enumerate(self.clients):
            if user >= self.spec.rooms:
                joined = await client.join(self.room_ids[self.spec.room_of(user)])
                if not isinstance(joined, JoinResponse):
                    raise WmxError(f"cannot join a bench room: {_error_name(joined)}")

    async def run(self) -> None:
        for client in self.clients:  # each starts from now: earlier history is not timed
            first = await client.sync(timeout=0, sync_filter=SYNC_FILTER)
            if not isinstance(first, SyncResponse):
                raise WmxError(f"the first /sync failed: {_error_name(first)}")
        syncing = [asyncio.create_task(self._sync_loop(c)) for c in self.clients]
        start = time.monotonic()
        try:
            await self._send_all(start)
            self.result.send_seconds = time.monotonic() - start
            deadline = time.monotonic() + self.spec.settle
            while time.monotonic() < deadline and len(self._arrived) < self.result.sent:
                await asyncio.sleep(0.05)
        finally:
            for task in syncing:
                task.cancel()
            await asyncio.gather(*syncing, return_exceptions=True)
        end = self._last_arrival if len(self._arrived) >= self.result.sent else time.monotonic()
        self.result.elapsed = max(end, start) - start

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)

    async def _send_all(self, start: float) -> None:
        pending: set[asyncio.Task[None]] = set()
        users = len(self.clients)
        for i in range(self.spec.messages):
            delay = start + i / self.spec.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self._send(i, self.clients[i % users], i % users))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*list(pending))

    async def _send(self, number: int, client: AsyncClient, user: int) -> None:
        mark = f"{number}"
        room_id = self.room_ids[self.spec.room_of(user)]
        content = {"msgtype": "m.text", "body": f"wmx bench message {number}", MARK: mark}
        self._sent_at[mark] = time.monotonic()
        try:
            response = await client.room_send(room_id, "m.room.message", content, tx_id=mark)
        except Exception as exc:
            response = exc
        if isinstance(response, RoomSendResponse):
            self.result.sent += 1
            self.progress.sent += 1
        else:
            self._sent_at.pop(mark, None)
            self.result.send_errors[_error_name(response)] += 1
            self.progress.errors += 1
        self.report(self.progress)

    async def _sync_loop(self, client: AsyncClient) -> None:
        while True:
            try:
                response = await client.sync(timeout=SYNC_POLL_MS, sync_filter=SYNC_FILTER)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                response = exc
            now = time.monotonic()
            if not isinstance(response, SyncResponse):
                self.result.sync_errors[_error_name(response)] += 1
                await asyncio.sleep(1)
                continue
            for room in response.rooms.join.values():
                for event in room.timeline.events:
                    self._arrival(client.user_id, event.source, now)

    def _arrival(self, reader: str, source: dict[str, Any], now: float) -> None:
        content = source.get("content")
        mark = content.get(MARK) if isinstance(content, dict) else None
        if not isinstance(mark, str) or source.get("sender") == reader or mark in self._arrived:
            return
        sent_at = self._sent_at.get(mark)
        if sent_at is None:
            return  # a send that failed (or an echo from outside this run)
        self._arrived.add(mark)
        self.result.latencies.append(now - sent_at)
        self._last_arrival = max(self._last_arrival, now)
        self.progress.received += 1
        self.report(self.progress)
