"""Backups as a careful operator checks them: the last success is fresh (younger than
the job's own limit, one missed run), and Synapse's signing key is in the newest archive
of every repository and is the key the server signs with now (a restore without it
makes every other server reject the restored one).

A small program runs on the homeserver host through the job's own modules
(wmx_agent.backup): it extracts the key from each repository's newest archive to a
pipe and prints only its key id and a hash of it, never the key.
"""

from __future__ import annotations

import json
import time
from typing import Any

from wmx.backup.hints import hint
from wmx.doctor.checks import Check, failed, passed
from wmx.doctor.inside import HostRunner
from wmx.site.topology import HostView

AGENT_DIR = "/usr/local/lib/wmx-agent"
HOST_PROGRAM = f"""
import hashlib, json, sys
sys.path.insert(0, {AGENT_DIR!r})
from wmx_agent.backup.borg import archive_ref, borg
from wmx_agent.backup.config import Failure, load_config
from wmx_agent.backup.metrics import max_age
def ident(text):
    words = text.split()
    if len(words) < 3:
        return None
    return {{"key_id": words[0] + ":" + words[1],
             "sha256": hashlib.sha256(words[2].encode()).hexdigest()}}
config = load_config()
key = config["signing_key"]
try:
    live = ident(open(key).read())
except OSError:
    live = None
status = json.load(open(config["status_file"])) if __import__("os").path.exists(
    config["status_file"]) else {{}}
out = {{"live": live, "repositories": {{}}, "max_age": max_age(config["schedule"]),
        "last_success": (status.get("last_success") or {{}}).get("ended_ts")}}
for repo in config["repositories"]:
    try:
        ref = archive_ref(config, repo["label"], "latest")
        _, text, _ = borg(["extract", "--stdout", ref, key.lstrip("/")])
        out["repositories"][repo["label"]] = {{"archive": ref.rsplit("::", 1)[1],
                                               "key": ident(text)}}
    except Failure as error:
        out["repositories"][repo["label"]] = {{"error": str(error)}}
print(json.dumps(out))
"""
FIX_KEY = (
    "run a backup now (`wmx backup run`) and check that it archives "
    "/var/lib/synapse/signing.key (`wmx backup list`)"
)


def backup_facts(host: HostView, run: HostRunner) -> dict[str, Any]:
    proc = run(host, ["python3", "-c", HOST_PROGRAM])
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise ValueError(lines[-1] if lines else f"status {proc.returncode}")
    data = json.loads(proc.stdout)
    if not isinstance(data, dict):
        raise ValueError("no facts")
    return data


def backup_checks(host: HostView, run: HostRunner, now: float | None = None) -> list[Check]:
    try:
        facts = backup_facts(host, run)
    except (ValueError, OSError) as exc:
        cause = f"cannot read the backup job on {host.name}: {exc}"
        return [
            failed(
                "backup-fresh",
                "Backups are fresh",
                cause,
                "`wmx deploy`, then `wmx backup run`",
                "inside",
            ),
            failed(
                "backup-signing-key", "Signing key in the latest backup", cause, FIX_KEY, "inside"
            ),
        ]
    return [fresh_check(facts, now or time.time()), signing_key_check(facts)]


def fresh_check(facts: dict[str, Any], now: float) -> Check:
    title = "Backups are fresh"
    limit = int(facts.get("max_age") or 0)
    last = facts.get("last_success")
    if not last:
        return failed(
            "backup-fresh",
            title,
            "no backup has succeeded yet",
            "run `wmx backup run` and read its errors",
            "inside",
        )
    age = now - float(last)
    detail = f"last success {age / 3600:.1f} h ago (limit {limit / 3600:.0f} h: one missed run)"
    if limit and age > limit:
        return failed(
            "backup-fresh",
            title,
            detail,
            "the timer's runs fail or do not run: `wmx backup list`, `wmx logs backup`, "
            "then `wmx backup run`",
            side="inside",
        )
    return passed("backup-fresh", title, detail, "inside")


def signing_key_check(facts: dict[str, Any]) -> Check:
    title = "Signing key in the latest backup"
    live = facts.get("live")
    if not live:
        return failed(
            "backup-signing-key",
            title,
            "the host has no readable signing key",
            "Synapse's signing key is missing: restore it from a backup",
            "inside",
        )
    problems, good = [], []
    for label, repo in sorted((facts.get("repositories") or {}).items()):
        if "error" in repo:
            problems.append(f"{label}: {repo['error']}")
        elif repo.get("key") is None:
            problems.append(f"{label}: {repo['archive']} holds no signing key")
        elif repo["key"] != live:
            problems.append(
                f"{label}: {repo['archive']} holds another key ({repo['key']['key_id']})"
            )
        else:
            good.append(f"{label} ({repo['archive']})")
    if problems or not good:
        errors = [repo.get("error") for repo in (facts.get("repositories") or {}).values()]
        fixes = list(dict.fromkeys(h for h in map(hint, errors) if h))
        return failed(
            "backup-signing-key",
            title,
            "; ".join(problems) or "no repository",
            "; ".join(fixes) or FIX_KEY,
            "inside",
        )
    return passed("backup-signing-key", title, f"{live['key_id']} in {', '.join(good)}", "inside")
