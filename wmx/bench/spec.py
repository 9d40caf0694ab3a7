"""What a bench run does (`BenchSpec`), what it found (`BenchResult`), and which servers
it may load (`check_test_deployment`)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from wmx.admin.account import private_host
from wmx.errors import InputError

# Top-level names that never reach a production homeserver (RFC 2606, RFC 6761): the
# lab's sites are under .test. A server elsewhere is loaded only when the operator says so.
TEST_TLDS = frozenset({"test", "example", "invalid", "localhost"})

MAX_USERS = 1000
MAX_RATE = 1000.0
MAX_DURATION = 3600.0


@dataclass(frozen=True)
class BenchSpec:
    """N users in M rooms (users spread round-robin, at least two per room), sending
    `rate` messages a second in all for `duration` seconds; a message not seen by another
    member within `settle` seconds of the last send counts as lost."""

    users: int = 10
    rooms: int = 2
    rate: float = 5.0
    duration: float = 20.0
    settle: float = 15.0

    def __post_init__(self) -> None:
        if not 2 <= self.users <= MAX_USERS:
            raise InputError(f"--users {self.users}: between 2 and {MAX_USERS}")
        if self.rooms < 1 or self.users < 2 * self.rooms:
            raise InputError(
                f"--rooms {self.rooms}: at least 1, and at most --users/2 "
                f"({self.users // 2}): a message is timed through another member's /sync"
            )
        if not (0 < self.rate <= MAX_RATE) or not math.isfinite(self.rate):
            raise InputError(
                f"--rate {self.rate:g}: messages a second, above 0, at most {MAX_RATE:g}"
            )
        if not (0 < self.duration <= MAX_DURATION) or not math.isfinite(self.duration):
            raise InputError(
                f"--duration {self.duration:g}: seconds, above 0, at most {MAX_DURATION:g}"
            )
        if not (0 < self.settle <= 600) or not math.isfinite(self.settle):
            raise InputError(f"--settle {self.settle:g}: seconds, above 0, at most 600")

    @property
    def messages(self) -> int:
        """How many messages the run sends (at least one)."""
        return max(1, round(self.rate * self.duration))

    def room_of(self, user: int) -> int:
        """The room (0..rooms-1) user number `user` is in."""
        return user % self.rooms


def is_test_server_name(server_name: str) -> bool:
    return server_name.rsplit(".", 1)[-1].lower() in TEST_TLDS


def check_test_deployment(server_name: str, *, not_a_test: bool) -> None:
    """Refuse to load a homeserver whose name is not under a reserved test domain, unless
    the operator said `--not-a-test` (a staging server under a real domain)."""
    if not is_test_server_name(server_name) and not not_a_test:
        raise InputError(
            f"{server_name} is not a test deployment (its name is not under "
            f"{', '.join('.' + t for t in sorted(TEST_TLDS))}): wmx bench creates accounts "
            "and rooms on it and loads it; say --not-a-test to run anyway"
        )


def percentile(ordered: list[float], q: float) -> float | None:
    """The nearest-rank percentile `q` (0..100) of sorted values; None when there are none."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class BenchResult:
    """Figures of one run. Latencies are seconds from the start of a send request to the
    first /sync response of another member that carried the message."""

    spec: BenchSpec
    server_name: str
    client_url: str
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    send_errors: Counter[str] = field(default_factory=Counter)
    sync_errors: Counter[str] = field(default_factory=Counter)
    send_seconds: float = 0.0  # from the first send's start to the last send's answer
    elapsed: float = 0.0  # from the first send's start to the last arrival (or the end)

    @property
    def received(self) -> int:
        return len(self.latencies)

    @property
    def lost(self) -> int:
        """Sent (the server answered with an event id) but never seen by another member."""
        return max(0, self.sent - self.received)

    @property
    def errors(self) -> int:
        return sum(self.send_errors.values()) + self.lost

    def throughput(self) -> float:
        """Messages delivered a second over the run."""
        return self.received / self.elapsed if self.elapsed > 0 else 0.0

    def latency(self, q: float) -> float | None:
        return percentile(sorted(self.latencies), q)

    def as_dict(self) -> dict[str, Any]:
        """The figures for `-o json`: latencies in milliseconds, None when nothing arrived."""

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 1)

        return {
            "server_name": self.server_name,
            "client_url": self.client_url,
            "users": self.spec.users,
            "rooms": self.spec.rooms,
            "rate": self.spec.rate,
            "duration_s": self.spec.duration,
            "messages": self.spec.messages,
            "sent": self.sent,
            "received": self.received,
            "lost": self.lost,
            "send_errors": dict(self.send_errors),
            "sync_errors": dict(self.sync_errors),
            "send_seconds": round(self.send_seconds, 3),
            "elapsed_s": round(self.elapsed, 3),
            "throughput_per_s": round(self.throughput(), 2),
            "latency_ms": {
                "p50": ms(self.latency(50)),
                "p95": ms(self.latency(95)),
                "p99": ms(self.latency(99)),
                "max": ms(max(self.latencies, default=None)),
            },
        }


def check_client_url(value: str) -> str:
    """`--client-url`: the client API's base URL. The run's access tokens travel to it, so
    plain http:// goes only to loopback or a private address."""
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    try:
        port = parts.port  # ValueError: not a number, or outside 0-65535
    except ValueError:
        port = 0
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or "@" in text
        or port == 0
        or any(c.isspace() for c in text)
    ):
        raise InputError(f"--client-url {value!r}: a base URL such as https://matrix.example.org")
    if parts.scheme == "http" and not private_host(parts.hostname):
        raise InputError(
            f"--client-url {text}: the run's access tokens would cross the network in clear; "
            "use https://, or http:// to loopback or a private address"
        )
    return text
