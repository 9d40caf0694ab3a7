"""Federation health for `wmx status`: per remote server, the last successful outgoing
and incoming transaction, read from Synapse's own tables on the database host.

- outgoing: `destinations` (what Synapse's Admin API `/_synapse/admin/v1/federation/
  destinations` lists): the time of the last event the remote acknowledged
  (`last_successful_stream_ordering` → that event's `received_ts`), and `failure_ts`
  (since when sending fails; NULL while it works) and `retry_last_ts`;
- incoming: `received_transactions` (Synapse keeps a day of them, to answer
  retransmissions): the newest transaction from each origin that Synapse accepted.

One read-only query through psql as `postgres`, over SSH like every other status read;
nothing is written and no Admin API account is needed.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from wmx.errors import WmxError
from wmx.site.topology import HostView
from wmx.ssh import connection
from wmx.status.probe import stderr_cause

DATABASE = "synapse"
QUERY = """
SELECT coalesce(json_agg(r ORDER BY r.server), '[]') FROM (
  SELECT d.destination AS server,
         (SELECT e.received_ts FROM events e
           WHERE e.stream_ordering = d.last_successful_stream_ordering) AS last_sent_ms,
         d.failure_ts AS failing_since_ms,
         d.retry_last_ts AS last_retry_ms,
         (SELECT max(t.ts) FROM received_transactions t
           WHERE t.origin = d.destination AND t.response_code = 200) AS last_received_ms
    FROM destinations d
  UNION ALL
  SELECT t.origin, NULL, NULL, NULL, max(t.ts) FROM received_transactions t
   WHERE t.response_code = 200
     AND t.origin NOT IN (SELECT destination FROM destinations)
   GROUP BY t.origin
) r
"""


@dataclass
class RemoteServer:
    server: str
    last_sent_at: float | None  # epoch seconds
    last_received_at: float | None
    failing_since: float | None  # outgoing has failed since then (Synapse backs off)
    last_retry_at: float | None

    @property
    def sending(self) -> bool:
        return self.failing_since is None


def _seconds(value: Any) -> float | None:
    return None if value in (None, 0) else float(value) / 1000


def parse_remotes(text: str) -> list[RemoteServer]:
    rows = json.loads(text or "[]")
    if not isinstance(rows, list):
        raise ValueError("not a list")
    return [
        RemoteServer(
            server=str(row["server"]),
            last_sent_at=_seconds(row.get("last_sent_ms")),
            last_received_at=_seconds(row.get("last_received_ms")),
            failing_since=_seconds(row.get("failing_since_ms")),
            last_retry_at=_seconds(row.get("last_retry_ms")),
        )
        for row in rows
        if isinstance(row, dict) and row.get("server")
    ]


def federation_remotes(database_host: HostView, timeout: float = 60) -> list[RemoteServer]:
    """Every remote server the homeserver has talked to, from the database host."""
    argv = ["runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", DATABASE, "-c", QUERY]
    proc = subprocess.run(
        connection(database_host).command(argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        cause = stderr_cause(proc.stderr, f"status {proc.returncode}")
        raise WmxError(f"federation state from {database_host.name}: {cause}")
    try:
        return parse_remotes(proc.stdout.strip())
    except (ValueError, KeyError, TypeError):
        raise WmxError(f"federation state from {database_host.name}: not JSON") from None
