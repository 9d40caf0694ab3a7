"""`init`, `list`, `status`, `export-key`: the repositories and what they hold."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from .borg import borg, borg_error, borg_msgids, repository
from .config import Failure, load_config, load_json

MISSING = {"Repository.DoesNotExist", "Repository.InvalidRepository"}
# ssh's words for a repository host whose sshd went away for a moment (restarted by a
# package's installation beside this deploy, a firewall being loaded): asked again.
TRANSIENT = ("Connection closed by remote host", "Connection reset by peer")
ATTEMPTS = 3


def _info(url: str) -> tuple[int, str]:
    """`borg info` of a repository: its status and stderr, asked again after a moment
    while ssh says the host dropped the connection."""
    for attempt in range(ATTEMPTS):
        rc, _, stderr = borg(["info", "--json", url], check=False)
        if rc in (0, 1) or not any(words in stderr for words in TRANSIENT):
            break
        if attempt + 1 < ATTEMPTS:
            time.sleep(3)
    return rc, stderr


def cmd_init(args: argparse.Namespace) -> int:
    config = load_config()
    results: dict[str, dict[str, Any]] = {}
    for repo in config["repositories"]:
        rc, stderr = _info(repo["url"])
        if rc in (0, 1):
            results[repo["label"]] = {"ok": True, "created": False}
            continue
        if borg_msgids(stderr) & MISSING or "does not exist" in stderr:
            rc, _, stderr = borg(
                ["init", "--encryption=repokey-blake2", "--make-parent-dirs", repo["url"]],
                check=False,
            )
            if rc in (0, 1):
                results[repo["label"]] = {"ok": True, "created": True}
                continue
        results[repo["label"]] = {"ok": False, "created": False, "error": borg_error(stderr)}
    print(json.dumps(results, sort_keys=True))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    config = load_config()
    history = load_json(Path(config["state_dir"]) / "archives.json", {})
    repos = []
    for repo in config["repositories"]:
        entry = {**repo, "ok": True, "error": "", "archives": []}
        try:
            _, out, _ = borg(
                ["list", "--json", "--glob-archives", f"{config['archive_prefix']}*", repo["url"]]
            )
            recorded = history.get(repo["label"], {})
            for item in json.loads(out)["archives"]:
                stats = recorded.get(item["name"], {})
                entry["archives"].append(
                    {"name": item["name"], "time": item.get("start") or item.get("time"), **stats}
                )
            _, out, _ = borg(["info", "--json", repo["url"]])
            entry["stats"] = json.loads(out).get("cache", {}).get("stats", {})
        except Failure as error:
            entry.update(ok=False, error=str(error))
        repos.append(entry)
    status = load_json(Path(config["status_file"]), {})
    print(json.dumps({"repositories": repos, "status": status}, sort_keys=True))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config()
    print(json.dumps(load_json(Path(config["status_file"]), {}), sort_keys=True))
    return 0


def cmd_export_key(args: argparse.Namespace) -> int:
    config = load_config()
    repo = repository(config, args.repo)
    borg(["key", "export", *(["--paper"] if args.paper else []), repo["url"]], stdout=None)
    return 0
