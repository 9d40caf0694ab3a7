"""`wmx-backup run`: dump, archive to every repository, prune, compact, record."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import pwd
import shutil
import time
from pathlib import Path
from typing import Any

from .borg import archive_names, borg, borg_error
from .config import Config, Failure, load_config, load_json, locked, now_iso, write_atomically
from .facts import db_facts, media_checksums, signing_key_facts
from .metrics import record

BUSY = 75  # EX_TEMPFAIL: another backup or restore holds the lock


class Reporter:
    """Progress: JSON lines on stdout for `wmx backup run`, plain lines for the journal."""

    def __init__(self, events: bool) -> None:
        self.events = events

    def emit(self, **event: object) -> None:
        if self.events:
            print(json.dumps(event), flush=True)
        elif "message" in event:
            print(event["message"], flush=True)

    def step(self, name: str, message: str) -> None:
        self.emit(step=name, message=message)

    def progress(self, name: str, **values: object) -> None:
        if self.events:
            self.emit(progress=name, **values)


def prepare_staging(config: Config) -> Path:
    staging = Path(config["staging_dir"])
    shutil.rmtree(staging, ignore_errors=True)
    # 0711: postgres may pass through to db/ (its own, 0700) but not list what is here.
    staging.mkdir(parents=True)
    os.chmod(staging, 0o711)
    db_dir = staging / "db"
    db_dir.mkdir(mode=0o700)
    if config["database"]["local"]:
        postgres = pwd.getpwnam("postgres")
        os.chown(db_dir, postgres.pw_uid, postgres.pw_gid)
    return staging


def previous_facts(repo: dict[str, Any], config: Config, newest: str) -> dict[str, Any] | None:
    """The facts of the archive before `newest` in `repo` (None if there is none)."""
    names = [name for name in archive_names(config, repo) if name != newest]
    if not names:
        return None
    member = f"{config['staging_dir'].lstrip('/')}/facts.json"
    rc, text, _ = borg(["extract", "--stdout", f"{repo['url']}::{names[-1]}", member], check=False)
    if rc not in (0, 1):
        return None
    with contextlib.suppress(ValueError):
        facts = json.loads(text)
        return facts if isinstance(facts, dict) else None
    return None


def archive_to(
    repo: dict[str, Any], config: Config, archive: str, paths: list[str], reporter: Reporter
) -> dict[str, Any]:
    label = repo["label"]
    reporter.step(f"create:{label}", f"Archiving to {label} ({repo['url']})")
    args = ["create", "--json", "--compression", config["compression"], "--exclude-caches"]
    if reporter.events:
        args.append("--progress")
    started = time.time()
    _, out, stderr = borg(
        [*args, f"{repo['url']}::{archive}", *paths],
        progress=lambda entry: reporter.progress(
            f"create:{label}",
            original_size=entry.get("original_size", 0),
            nfiles=entry.get("nfiles", 0),
            path=entry.get("path", ""),
        ),
    )
    stats = json.loads(out)["archive"]["stats"]
    return {
        "ok": True,
        "archive": archive,
        "original_size": stats["original_size"],
        "compressed_size": stats["compressed_size"],
        "deduplicated_size": stats["deduplicated_size"],
        "nfiles": stats["nfiles"],
        "duration": round(time.time() - started, 3),
        "warnings": borg_error(stderr, ("WARNING",)) if '"WARNING"' in stderr else "",
    }


def retention_args(retention: dict[str, int]) -> list[str]:
    """borg prune's --keep-… options for the site's retention."""
    keep = []
    for period in ("daily", "weekly", "monthly"):
        if retention[period] > 0:
            keep.append(f"--keep-{period}={retention[period]}")
    if retention.get("keep_within_hours", 0) > 0:
        keep.append(f"--keep-within={retention['keep_within_hours']}H")
    return keep


def prune(
    repo: dict[str, Any], config: Config, archive: str, facts: dict[str, Any], reporter: Reporter
) -> str:
    """Prune by the site's retention; compact. Returns a note when pruning was skipped."""
    label = repo["label"]
    before = previous_facts(repo, config, archive)
    if before and before.get("database", {}).get("rooms", 0) > 0 and not facts["database"]["rooms"]:
        # A freshly deployed, still empty server must never push a restorable backup
        # out of the retention window.
        note = "not pruned: this server has no rooms but the previous archive has some"
        reporter.step(f"prune:{label}", note)
        return note
    reporter.step(f"prune:{label}", f"Pruning {label}")
    keep = retention_args(config["retention"])
    borg(["prune", "--glob-archives", f"{config['archive_prefix']}*", *keep, repo["url"]])
    reporter.step(f"compact:{label}", f"Compacting {label}")
    borg(["compact", repo["url"]])
    return ""


def _write_history(path: Path, history: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(history, sort_keys=True) + "\n", 0o600)


def _archive_everywhere(
    config: Config, run: dict[str, Any], staging: Path, reporter: Reporter
) -> None:
    """The run itself, under the lock: staging, facts, every repository."""
    archive = run["archive"]
    reporter.step("dump", "Dumping the database (pg_dump, one snapshot)")
    database = db_facts(config, staging / "db")
    reporter.step("checksums", "Checksumming media")
    facts = {
        "server_name": config["server_name"],
        "archive": archive,
        "created": run["started"],
        "database": database,
        "signing_key": signing_key_facts(Path(config["signing_key"])),
        "media_files": media_checksums(config, staging),
    }
    write_atomically(
        staging / "facts.json", json.dumps(facts, indent=2, sort_keys=True) + "\n", 0o600
    )
    history_path = Path(config["state_dir"]) / "archives.json"
    history = load_json(history_path, {})
    _write_history(staging / "archives.json", history)
    paths = [str(staging)] + [p for p in config["paths"] if os.path.lexists(p)]
    run["skipped_paths"] = [p for p in config["paths"] if not os.path.lexists(p)]
    for repo in config["repositories"]:
        try:
            result = archive_to(repo, config, archive, paths, reporter)
            history.setdefault(repo["label"], {})[archive] = {
                k: result[k] for k in ("original_size", "deduplicated_size", "nfiles", "duration")
            }
            result["note"] = prune(repo, config, archive, facts, reporter)
        except Failure as error:
            result = {"ok": False, "error": str(error)}
            reporter.step(f"failed:{repo['label']}", f"{repo['label']}: {error}")
        run["repositories"][repo["label"]] = result
    _write_history(history_path, history)
    failed = [k for k, v in run["repositories"].items() if not v["ok"]]
    if failed:
        run["error"] = "failed for " + ", ".join(failed)
    run["ok"] = not failed


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config()
    reporter = Reporter(args.events)
    started = time.time()
    archive = config["archive_prefix"] + datetime.datetime.now(datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
    label = getattr(args, "label", None)
    if label:
        # After the time, so the prefix still selects it and the names still sort by time.
        archive += "-" + "".join(c if c.isalnum() or c in ".-_" else "_" for c in label)
    run: dict[str, Any] = {"started": now_iso(started), "archive": archive, "ok": False,
                           "error": "", "repositories": {}}  # fmt: skip
    staging = Path(config["staging_dir"])
    lock = contextlib.ExitStack()
    try:
        lock.enter_context(locked(config))
    except Failure as error:
        # Not a failed backup: the one holding the lock records its own result.
        reporter.emit(result={**run, "error": str(error), "busy": True}, message=str(error))
        return BUSY
    try:
        with lock:
            staging = prepare_staging(config)
            _archive_everywhere(config, run, staging, reporter)
    except Failure as error:
        run["error"] = str(error)
    except Exception as error:  # say what broke, without locals (they may hold paths only)
        run["error"] = f"{type(error).__name__}: {error}"
    finally:
        # The dump holds the whole database in clear: it must not outlive the run.
        shutil.rmtree(staging, ignore_errors=True)
    ended = time.time()
    run.update(
        {"ended": now_iso(ended), "ended_ts": int(ended), "duration": round(ended - started, 3)}
    )
    good = [v for v in run["repositories"].values() if v.get("ok")]
    if good:
        run["original_size"] = good[0]["original_size"]
        run["deduplicated_size"] = good[0]["deduplicated_size"]
    record(config, run)
    outcome = "Backup done: " if run["ok"] else "Backup FAILED: "
    reporter.emit(result=run, message=outcome + (run["error"] or archive))
    return 0 if run["ok"] else 1
