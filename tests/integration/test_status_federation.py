"""`wmx status`'s federation query (wmx.status.federation.QUERY) run by a real PostgreSQL
on Synapse's own tables (their columns as in Synapse's schema): per remote server, the
last acknowledged outgoing event's time, the newest accepted incoming transaction, and
since when sending fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.postgres_cluster import AS_POSTGRES, private_cluster, run_checked
from wmx.status.federation import DATABASE, QUERY, parse_remotes

pytestmark = pytest.mark.timeout(120)

SCHEMA = """
CREATE TABLE destinations (destination text NOT NULL, retry_last_ts bigint,
  retry_interval bigint, failure_ts bigint, last_successful_stream_ordering bigint);
CREATE TABLE received_transactions (transaction_id text, origin text, ts bigint,
  response_code integer, response_json bytea, has_been_referenced smallint DEFAULT 0);
CREATE TABLE events (stream_ordering integer NOT NULL, event_id text NOT NULL,
  received_ts bigint);
INSERT INTO events VALUES (10, '$a', 1700000000000), (11, '$b', 1700000500000);
-- chapter.test acknowledged event 11; broken.test fails since 1700000600000.
INSERT INTO destinations VALUES ('chapter.test', NULL, NULL, NULL, 11),
  ('broken.test', 1700000700000, 60000, 1700000600000, 10);
INSERT INTO received_transactions (transaction_id, origin, ts, response_code) VALUES
  ('t1', 'chapter.test', 1700000100000, 200), ('t2', 'chapter.test', 1700000900000, 200),
  ('t3', 'chapter.test', 1700000950000, 500),
  ('t4', 'listener.test', 1700000800000, 200);
"""


@pytest.fixture
def postgres() -> Iterator[dict[str, str]]:
    """A private cluster holding Synapse's tables; yields the environment that reaches it."""
    with private_cluster("wmx-status-pg-") as (_root, env):
        run_checked([*AS_POSTGRES, "createdb", DATABASE], env)
        run_checked([*AS_POSTGRES, "psql", "-d", DATABASE, "-Xqc", SCHEMA], env)
        yield env


def test_the_query_reads_each_remotes_last_transactions(postgres: dict[str, str]) -> None:
    # The same argv the status runs on the database host, with the test cluster's socket.
    answer = run_checked([*AS_POSTGRES, "psql", "-XAtq", "-d", DATABASE, "-c", QUERY], postgres)
    remotes = {r.server: r for r in parse_remotes(answer.strip())}
    assert sorted(remotes) == ["broken.test", "chapter.test", "listener.test"]
    chapter = remotes["chapter.test"]
    assert chapter.last_sent_at == 1700000500.0
    assert chapter.last_received_at == 1700000900.0  # the failed t3 does not count
    assert chapter.sending and chapter.failing_since is None
    broken = remotes["broken.test"]
    assert not broken.sending and broken.failing_since == 1700000600.0
    assert broken.last_sent_at == 1700000000.0 and broken.last_received_at is None
    listener = remotes["listener.test"]  # only ever sent to us
    assert listener.last_sent_at is None and listener.last_received_at == 1700000800.0
