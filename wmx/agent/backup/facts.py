"""What the drill compares: database counts and the dump of the same snapshot, the
signing key's public half, and the checksums of the media files."""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .config import TOOL, Config, Failure, write_atomically

DUMP_FILE = "synapse.pgdump"

# Counts and latest events the drill compares, all read in the dump's own snapshot.
FACTS_SQL = """
SELECT json_build_object(
  'users', (SELECT count(*) FROM users),
  'other_users', (SELECT count(*) FROM users WHERE name NOT LIKE '@wmx-admin:%%'),
  'rooms', (SELECT count(*) FROM rooms),
  'local_media', (SELECT count(*) FROM local_media_repository),
  'max_stream_ordering', (SELECT coalesce(max(stream_ordering), 0) FROM events),
  'largest_rooms', coalesce((
    SELECT json_agg(json_build_object(
             'room_id', r.room_id,
             'joined_members', r.joined_members,
             'latest_event_id', (SELECT e.event_id FROM events e WHERE e.room_id = r.room_id
                                 ORDER BY e.stream_ordering DESC LIMIT 1))
           ORDER BY r.joined_members DESC, r.room_id)
    FROM (SELECT room_id, joined_members FROM room_stats_current
          ORDER BY joined_members DESC, room_id LIMIT %(largest)s) r), '[]'::json)
)::text
"""


def database_params(config: Config) -> dict[str, Any]:
    db = config["database"]
    if db["local"]:
        return {"dbname": db["name"]}
    return {
        "dbname": db["name"],
        "host": db["host"],
        "port": db["port"],
        "user": db["user"],
        "passfile": db["passfile"],
        "sslmode": db["sslmode"],
        "sslrootcert": db["sslrootcert"],
    }


def pg_cli_args(config: Config) -> list[str]:
    db = config["database"]
    if db["local"]:
        return ["-d", db["name"]]
    return ["-h", db["host"], "-p", str(db["port"]), "-U", db["user"], "-d", db["name"], "-w"]


def as_database_user(config: Config, argv: list[str]) -> list[str]:
    """A local database is reached through the socket as postgres (peer authentication)."""
    if config["database"]["local"]:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def pg_env(config: Config) -> dict[str, str]:
    env = dict(os.environ)
    if not config["database"]["local"]:
        env["PGPASSFILE"] = config["database"]["passfile"]
        # pg_dump verifies PostgreSQL's certificate as the job's own connection does.
        env["PGSSLMODE"] = config["database"]["sslmode"]
        env["PGSSLROOTCERT"] = config["database"]["sslrootcert"]
    return env


def db_facts_in_process(config: Config, out_dir: Path | None) -> dict[str, Any]:
    """Facts in one REPEATABLE READ snapshot; with out_dir, pg_dump of that same snapshot."""
    # Debian's python3-psycopg2, installed by the backup role (not on wmx's own machine).
    psycopg2: Any = importlib.import_module("psycopg2")

    conn = psycopg2.connect(**database_params(config))
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            cur.execute(FACTS_SQL, {"largest": int(config["largest_rooms"])})
            facts: dict[str, Any] = json.loads(cur.fetchone()[0])
        if out_dir is not None:
            # Synapse's backup advice: one-time keys must not come back from a backup
            # (clients would reuse keys the server already handed out).
            argv = [
                "pg_dump", "--snapshot", snapshot, "--format=custom", "--compress=0",
                "--exclude-table-data=e2e_one_time_keys_json", "--no-password",
                "--file", str(out_dir / DUMP_FILE), *pg_cli_args(config),
            ]  # fmt: skip
            proc = subprocess.run(argv, capture_output=True, text=True, env=pg_env(config))
            if proc.returncode != 0:
                raise Failure(f"pg_dump failed: {proc.stderr.strip()[-400:]}")
        conn.rollback()
    finally:
        conn.close()
    return facts


def db_facts(config: Config, out_dir: Path | None = None) -> dict[str, Any]:
    """Run db_facts_in_process as the database user (a child process for a local one)."""
    if not config["database"]["local"] or os.geteuid() != 0:
        return db_facts_in_process(config, out_dir)
    argv = [sys.executable, "-I", TOOL, "db-facts"]
    if out_dir is not None:
        argv += ["--dump-to", str(out_dir)]
    proc = subprocess.run(as_database_user(config, argv), capture_output=True, text=True, cwd="/")
    if proc.returncode != 0:
        error = proc.stderr.strip()
        raise Failure(error.splitlines()[-1] if error else "db-facts failed")
    facts: dict[str, Any] = json.loads(proc.stdout)
    return facts


def b64decode_unpadded(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def signing_key_facts(path: Path) -> dict[str, Any]:
    """The key id and public key of Synapse's signing key (never the private part)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if not path.exists():
        return {"present": False}
    algorithm, version, seed = path.read_text().split()[:3]
    private = Ed25519PrivateKey.from_private_bytes(b64decode_unpadded(seed))
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "present": True,
        "key_id": f"{algorithm}:{version}",
        "public_key": base64.b64encode(public).decode().rstrip("="),
    }


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def media_checksums(config: Config, staging: Path) -> int:
    """Write media.sha256; hash only files that are new or changed since the last run."""
    store = Path(config["media_store"])
    cache_path = Path(config["state_dir"]) / "media-sums.json"
    try:
        cache: dict[str, list[Any]] = json.loads(cache_path.read_text())
    except (FileNotFoundError, ValueError):
        cache = {}
    fresh: dict[str, list[Any]] = {}
    lines: list[str] = []
    for directory in config["media_dirs"]:
        base = Path(directory)
        if not base.is_dir():
            continue
        for root, dirs, files in os.walk(base):
            dirs.sort()
            for name in sorted(files):
                path = Path(root) / name
                info = path.stat()
                rel = path.relative_to(store).as_posix()
                key = [info.st_size, info.st_mtime_ns]
                known = cache.get(rel)
                digest = known[2] if known and known[:2] == key else sha256_file(path)
                fresh[rel] = [*key, digest]
                lines.append(f"{digest}  {rel}\n")
    (staging / "media.sha256").write_text("".join(lines))
    write_atomically(cache_path, json.dumps(fresh), 0o600)
    return len(lines)


def verify_media(store: Path, sums: str) -> dict[str, Any]:
    """Check media.sha256's lines against the files in `store`."""
    checked = 0
    mismatched: list[str] = []
    missing: list[str] = []
    for line in sums.splitlines():
        digest, _, rel = line.partition("  ")
        path = store / rel
        checked += 1
        if not path.is_file():
            missing.append(rel)
        elif sha256_file(path) != digest:
            mismatched.append(rel)
    return {"checked": checked, "mismatched": mismatched, "missing": missing}
