"""The database side of `wmx upgrade`'s rollback, on a real PostgreSQL: the very scripts
apply runs on the database host dump the database before the switch, and after a
"migration" (a new table, changed rows, as a new release's first start makes them) the
restore brings back exactly the pre-upgrade database, recreated as wmx creates it
(owner synapse, UTF-8, C collation). The cluster is private to the test (its own socket,
PGHOST), run as the postgres user like on a host."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.postgres_cluster import AS_POSTGRES, private_cluster
from wmx.ops.upgrade import DATABASE, dump_script, restore_script

pytestmark = pytest.mark.timeout(120)

BEFORE = """
CREATE TABLE events (stream_ordering integer PRIMARY KEY, body text NOT NULL);
INSERT INTO events VALUES (1, 'said on the old release'), (2, 'and this');
CREATE TABLE schema_version (version integer NOT NULL);
INSERT INTO schema_version VALUES (94);
"""
MIGRATION = """
CREATE TABLE new_in_the_new_release (x integer);
UPDATE schema_version SET version = 95;
INSERT INTO events VALUES (3, 'said on the new release');
"""


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def cluster() -> Iterator[tuple[Path, dict[str, str]]]:
    with private_cluster("wmx-upgrade-pg-") as (root, env):
        _run([*AS_POSTGRES, "createuser", "synapse"], root, env)
        _run([*AS_POSTGRES, "createdb", "-O", "synapse", "-T", "template0", DATABASE], root, env)
        _run(
            [*AS_POSTGRES, "psql", "-Xq", "-U", "synapse", "-d", DATABASE, "-c", BEFORE], root, env
        )
        yield root, env


def _query(root: Path, env: dict[str, str], sql: str) -> str:
    argv = ["runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", DATABASE, "-c", sql]
    return _run(argv, root, env).strip()


def test_the_restore_brings_back_the_database_before_the_upgrade(
    cluster: tuple[Path, dict[str, str]],
) -> None:
    root, env = cluster
    dumps = root / "dumps"
    path = _run(["sh", "-c", dump_script("synapse-a-to-b", str(dumps))], root, env).strip()
    assert path == f"{dumps}/synapse-a-to-b.dump" and Path(path).stat().st_size > 0
    assert oct(dumps.stat().st_mode & 0o777) == "0o700"  # the dump holds every message
    _run(
        ["runuser", "-u", "postgres", "--", "psql", "-Xq", "-d", DATABASE, "-c", MIGRATION],
        root,
        env,
    )
    assert _query(root, env, "SELECT count(*) FROM events") == "3"
    _run(["sh", "-c", restore_script(path)], root, env)
    assert _query(root, env, "SELECT version FROM schema_version") == "94"
    assert _query(
        root, env, "SELECT string_agg(body, '|' ORDER BY stream_ordering) FROM events"
    ) == ("said on the old release|and this")
    assert _query(root, env, "SELECT to_regclass('new_in_the_new_release')") == ""
    owner_and_collation = (
        "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate "
        f"FROM pg_database WHERE datname = '{DATABASE}'"
    )
    assert _query(root, env, owner_and_collation) == "synapse|UTF8|C"
    assert _query(root, env, "SELECT tableowner FROM pg_tables WHERE tablename = 'events'") == (
        "synapse"
    )


def test_a_missing_dump_stops_before_the_database_is_dropped(
    cluster: tuple[Path, dict[str, str]],
) -> None:
    root, env = cluster
    done = subprocess.run(
        ["sh", "-c", restore_script(str(root / "no-such.dump"))], cwd=root, env=env, check=False
    )
    assert done.returncode != 0
    assert _query(root, env, "SELECT count(*) FROM events") == "2"
