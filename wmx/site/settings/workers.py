"""Synapse's workers (`synapse.workers:` in wmx.yaml): a preset, and counts per type that
replace the preset's (docs/workers.md).

```yaml
synapse:
  workers:
    preset: small          # none (one process), small or large
    sync: 2                # optional: a count per type, replacing the preset's
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from wmx.site.settings.section import Section

# The worker types, in the order their processes are named and started.
WORKER_TYPES: tuple[str, ...] = (
    "event_persister",
    "sync",
    "client",
    "federation_reader",
    "federation_sender",
    "media",
    "pusher",
    "background",
)
# How many of each type a preset runs (docs/workers.md says what each is for).
PRESETS: dict[str, dict[str, int]] = {
    "none": dict.fromkeys(WORKER_TYPES, 0),
    "small": {
        "event_persister": 0,
        "sync": 1,
        "client": 1,
        "federation_reader": 0,
        "federation_sender": 1,
        "media": 1,
        "pusher": 0,
        "background": 1,
    },
    "large": {
        "event_persister": 2,
        "sync": 4,
        "client": 2,
        "federation_reader": 2,
        "federation_sender": 2,
        "media": 1,
        "pusher": 1,
        "background": 1,
    },
}
# Synapse allows one media repository's background jobs and one background worker.
SINGLE = {"media": 1, "background": 1}
# Types that run on the homeserver host even when the inventory has worker hosts: the
# media repository writes the media store, a directory of that host.
HOMESERVER_ONLY = frozenset({"media"})
MAX_PER_TYPE = 16

Count = int | None


class WorkerSettings(Section):
    """A preset and, per type, an explicit count (None: the preset's)."""

    preset: Literal["none", "small", "large"] = "none"
    event_persister: Count = Field(default=None, ge=0, le=MAX_PER_TYPE)
    sync: Count = Field(default=None, ge=0, le=MAX_PER_TYPE)
    client: Count = Field(default=None, ge=0, le=MAX_PER_TYPE)
    federation_reader: Count = Field(default=None, ge=0, le=MAX_PER_TYPE)
    federation_sender: Count = Field(default=None, ge=0, le=MAX_PER_TYPE)
    media: Count = Field(default=None, ge=0, le=SINGLE["media"])
    pusher: Count = Field(default=None, ge=0, le=MAX_PER_TYPE)
    background: Count = Field(default=None, ge=0, le=SINGLE["background"])

    def counts(self) -> dict[str, int]:
        """How many workers of each type run: the explicit count, else the preset's."""
        base = PRESETS[self.preset]
        return {
            kind: (explicit if (explicit := getattr(self, kind)) is not None else base[kind])
            for kind in WORKER_TYPES
        }

    @property
    def enabled(self) -> bool:
        return any(self.counts().values())

    @property
    def processes(self) -> int:
        """Synapse processes in all: the main one and every worker."""
        return 1 + sum(self.counts().values())


# Connections PostgreSQL keeps for everything but Synapse's pools: the backup's dump, the
# exporter, psql by hand, `wmx upgrade`'s checks, superuser slots.
RESERVED_CONNECTIONS = 10
# Synapse's own pool per process: at most its default, at least a few.
MAX_POOL = 10
MIN_POOL = 3
DEFAULT_MIN_POOL = 5


def pool_sizes(processes: int, max_connections: int) -> tuple[int, int]:
    """(cp_min, cp_max) of each Synapse process's connection pool so that every process's
    full pool, and the reserve, fit in PostgreSQL's max_connections; ValueError when
    they cannot (each process needs MIN_POOL)."""
    share = (max_connections - RESERVED_CONNECTIONS) // processes
    if share < MIN_POOL:
        needed = processes * MIN_POOL + RESERVED_CONNECTIONS
        raise ValueError(
            f"synapse.workers: {processes} Synapse processes need at least {needed} "
            f"PostgreSQL connections ({MIN_POOL} each and {RESERVED_CONNECTIONS} for the "
            f"rest); raise postgresql.max_connections (now {max_connections}) or run fewer "
            "workers"
        )
    cp_max = min(MAX_POOL, share)
    return min(DEFAULT_MIN_POOL, cp_max), cp_max
