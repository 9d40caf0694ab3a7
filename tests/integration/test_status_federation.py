"""`wmx status`'s federation query (wmx.status.federation.QUERY) run by a real PostgreSQL
on Synapse's own tables (their columns as in Synapse's schema): per remote server, the
last acknowledged outgoing event's time, the newest accepted incoming transaction, and
since when sending fails."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def _as_postgres(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv],
        capture_output=True, text=True, check=True, cwd=cwd,
    )  # fmt: skip


@pytest.fixture
def postgres() -> Iterator[Path]:
    if shutil.which("initdb") is None or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL's initdb is not installed")
    # Outside pytest's own (root-only) temporary tree: the cluster runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="wmx-status-pg-"))
    shutil.chown(root, "postgres", "postgres")
    data, sockets = root / "data", root
    _as_postgres("initdb", "-D", str(data), "--locale=C", "-A", "trust", cwd=root)
    options = f"-k {sockets} -c listen_addresses=''"
    # -l: the server's output goes to a file, not to our pipe (which would never close).
    log = str(root / "postgres.log")
    _as_postgres("pg_ctl", "-D", str(data), "-o", options, "-l", log, "-w", "start", cwd=root)
    try:
        _as_postgres("createdb", "-h", str(sockets), DATABASE, cwd=root)
        _as_postgres("psql", "-h", str(sockets), "-d", DATABASE, "-Xqc", SCHEMA, cwd=root)
        yield sockets
    finally:
        _as_postgres("pg_ctl", "-D", str(data), "-m", "fast", "stop", cwd=root)
        shutil.rmtree(root, ignore_errors=True)


def test_the_query_reads_each_remotes_last_transactions(postgres: Path) -> None:
    # The same argv the status runs on the database host, with the test cluster's socket.
    answer = _as_postgres("psql", "-XAtq", "-h", str(postgres), "-d", DATABASE, "-c", QUERY,
                          cwd=postgres)  # fmt: skip
    remotes = {r.server: r for r in parse_remotes(answer.stdout.strip())}
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
