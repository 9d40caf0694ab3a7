"""What an e2e module pays to start from a deployed site: deploying it afresh, deploying
it and keeping a snapshot (the first session after a change), and booting that snapshot
(every later session). Prints figures; asserts nothing. Needs root and the lab; run it
under the lab's lock, one module at a time:

    flock /tmp/wmx-lab.lock .venv/bin/python bench/e2e_start.py [tests/e2e/test_core_deploy.py]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST = str(Path(sys.executable).with_name("pytest"))
WMX = str(Path(sys.executable).with_name("wmx"))
RUNS = [
    ("fresh deploy, no snapshot", {"WMX_E2E_SNAPSHOTS": "0"}, False),
    ("deploy, then snapshot", {}, True),
    ("boot the snapshot", {}, False),
]


def drop_e2e_snapshots() -> None:
    """Forget the snapshots the e2e tests keep, so the next session deploys afresh."""
    listing = subprocess.run(
        [WMX, "lab", "snapshots", "-o", "json"], capture_output=True, text=True, check=True
    )
    for snapshot in json.loads(listing.stdout):
        if snapshot["name"].startswith("e2e-"):
            subprocess.run([WMX, "lab", "snapshots", "--delete", snapshot["name"]], check=True)


def run_module(module: str, env: dict[str, str]) -> tuple[float, list[str], str]:
    start = time.perf_counter()
    result = subprocess.run(
        [PYTEST, "-s", "-q", "-p", "no:cacheprovider", module],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    notes = re.findall(r"\[e2e deployments\] (.*)", output)
    summary = (output.strip().splitlines() or ["(no output)"])[-1]
    return seconds, notes, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("module", nargs="?", default="tests/e2e/test_core_deploy.py")
    module = parser.parse_args().module
    print(f"{module}: whole pytest run per way of starting")
    for label, env, drop_snapshots in RUNS:
        if drop_snapshots:
            drop_e2e_snapshots()
        seconds, notes, summary = run_module(module, env)
        print(f"  {label:28} {seconds:7.0f} s   {summary}")
        for note in notes:
            print(f"  {'':28}   {note}")


if __name__ == "__main__":
    main()
