"""Stopping and starting the homeserver's services around a restore."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
import urllib.request

from .config import Failure, load_config

HEALTH_URL = "http://127.0.0.1:8008/health"
TIMER = "wmx-backup.timer"


def systemctl(*argv: str) -> None:
    proc = subprocess.run(["systemctl", *argv], capture_output=True, text=True)
    if proc.returncode != 0:
        raise Failure(f"systemctl {' '.join(argv)} failed: {proc.stderr.strip()[-300:]}")


def unit_exists(unit: str) -> bool:
    proc = subprocess.run(["systemctl", "cat", unit], capture_output=True, text=True)
    return proc.returncode == 0


def cmd_stop_services(args: argparse.Namespace) -> int:
    config = load_config()
    # The timer first: no backup of a half-restored server.
    systemctl("stop", TIMER)
    present = [s for s in config["services"] if unit_exists(s)]
    if present:
        systemctl("stop", *present)
    print(json.dumps({"stopped": [TIMER, *present]}))
    return 0


def wait_for_synapse(timeout: int) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(HEALTH_URL, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise Failure(f"Synapse did not answer {HEALTH_URL} within {timeout} s")
        time.sleep(1)


def cmd_start_services(args: argparse.Namespace) -> int:
    config = load_config()
    present = [s for s in reversed(config["services"]) if unit_exists(s)]
    if present:
        systemctl("start", *present)
    wait_for_synapse(args.timeout)
    if args.timer:
        systemctl("start", TIMER)
    print(json.dumps({"started": present}))
    return 0


def cmd_clean_restore(args: argparse.Namespace) -> int:
    config = load_config()
    shutil.rmtree(config["restore_dir"], ignore_errors=True)
    print(json.dumps({"removed": config["restore_dir"]}))
    return 0
