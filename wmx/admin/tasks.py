"""Wait for Synapse's background tasks (room deletion, redaction, history purge)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from wmx.errors import WmxError

S = TypeVar("S", bound=Mapping[str, Any])

# Statuses after which a task changes no more. Synapse's scheduler says "complete";
# older room-deletion statuses were "complete" and "failed" as well.
FINISHED = frozenset({"complete", "failed"})


def wait_for_task(
    poll: Callable[[], S],
    *,
    what: str,
    on_update: Callable[[S], None] | None = None,
    interval: float = 0.5,
    timeout: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> S:
    """Poll until the task's `status` is final; report each answer to `on_update`."""
    deadline = time.monotonic() + timeout
    while True:
        state = poll()
        if on_update:
            on_update(state)
        if state.get("status") in FINISHED:
            return state
        if time.monotonic() > deadline:
            raise WmxError(
                f"{what} still {state.get('status')!r} after {timeout:.0f} s; "
                "it goes on in Synapse: check its status again later"
            )
        sleep(interval)
        # Back off gently: long purges need no twice-a-second polling.
        interval = min(interval * 1.5, 5.0)
