"""A PostgreSQL cluster private to one test: its own data directory and unix socket (no
TCP), run as the postgres user like on a host, trust authentication, gone afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.synapse_server import log_tail

AS_POSTGRES = ["runuser", "-u", "postgres", "--"]


def run_checked(argv: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> str:
    """`argv`'s output; a failure carries its standard error and the end of `log`, the
    server's own log (pg_ctl's error only says "Examine the log output")."""
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr + (
        f"\nthe server's log ends:\n{log_tail(log)}" if log is not None else ""
    )
    return done.stdout


@contextmanager
def private_cluster(prefix: str, *settings: str) -> Iterator[tuple[Path, dict[str, str]]]:
    """Yields the socket directory and an environment whose PGHOST points at it;
    `settings` are extra `-c name=value` server settings."""
    if shutil.which("initdb") is None or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL's initdb is not installed")
    # Outside pytest's own (root-only) temporary tree: the cluster runs as postgres.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    shutil.chown(root, "postgres", "postgres")
    env = {**os.environ, "PGHOST": str(root)}
    run_checked([*AS_POSTGRES, "initdb", "-D", str(root / "data"), "--locale=C", "-A", "trust"])
    pg_ctl = [*AS_POSTGRES, "pg_ctl", "-D", str(root / "data")]
    options = " ".join([f"-k {root}", "-c listen_addresses=''", *(f"-c {s}" for s in settings)])
    # -l: the server's output goes to a file, not to our pipe (which would never close).
    log = root / "log"
    run_checked([*pg_ctl, "-o", options, "-l", str(log), "-w", "start"], env, log)
    try:
        yield root, env
    finally:
        run_checked([*pg_ctl, "-m", "fast", "stop"], env)
        shutil.rmtree(root, ignore_errors=True)
