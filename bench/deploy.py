"""Deploy timings on lab hosts: first deploy onto a fresh host, a no-change re-deploy,
and `wmx --help` start-up. Prints figures; asserts nothing. Needs root.

    .venv/bin/python bench/deploy.py [--keep]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WMX = str(Path(sys.executable).with_name("wmx"))


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the lab running afterwards")
    options = parser.parse_args()

    help_times = [timed([WMX, "--help"]) for _ in range(5)]
    print(f"wmx --help start-up: median {statistics.median(help_times):.2f} s over 5 runs")

    with tempfile.TemporaryDirectory(prefix="wmx-bench-") as tmp:
        site = Path(tmp) / "site"
        subprocess.run(
            [WMX, "init", str(site), "--defaults", "--server-name", "wmx.test"],
            check=True,
            capture_output=True,
        )
        subprocess.run([WMX, "lab", "down"], check=True, capture_output=True)
        steps = [
            ("lab up (1 host)", ["lab", "up", "--site", str(site)]),
            ("first deploy onto a fresh host", ["--site", str(site), "deploy"]),
            ("second deploy, nothing changed", ["--site", str(site), "deploy"]),
        ]
        for label, args in steps:
            print(f"{label + ':':34} {timed([WMX, *args]):7.1f} s")
        if not options.keep:
            subprocess.run([WMX, "lab", "down"], check=True, capture_output=True)


if __name__ == "__main__":
    main()
