"""A deploy with nothing changed, this checkout against an earlier revision, in one run.

A change to the play shows in a nothing-changed deploy by a second or two, and this
machine's load moves single runs by more than that (the same tree measured 6 s and 11 s
on two days). So both sides run side by side, alternately, on twin lab hosts:

- the earlier revision (``--base REV``, checked out into a temporary git worktree) makes
  site A (``a.test``) and deploys it to lab1; this checkout makes site B (``b.test``) and
  deploys it to lab2, each side with its own wmx (its own Python source, templates and
  playbooks: ``python -c`` with the tree first on ``sys.path``, run from a neutral
  directory), as an operator upgrading wmx would see it;
- then ``--rounds`` rounds of ``wmx deploy`` with nothing changed, A then B in each
  round (B then A in every second round), each timed from start to exit;
- it prints each round, the median and the fastest of each side, and their ratio, with
  the load average when each deploy started (the machine may be shared).

Prints figures; asserts nothing. Needs root and the lab lock; it starts from
``wmx lab down`` and ends with it (unless --keep). About 8 minutes.

    flock /tmp/wmx-lab.lock .venv/bin/python bench/deploy_ab.py --base REV [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_WMX = 'import sys; sys.argv[0] = "wmx"; from wmx.entry import main; main()'


class Side:
    """One revision's wmx and its site on its lab host."""

    def __init__(self, label: str, tree: Path, site: Path, server_name: str, host: str) -> None:
        self.label, self.tree, self.site, self.host = label, tree, site, host
        self.server_name = server_name
        self.times: list[float] = []

    def wmx(self, *args: str) -> str:
        # From a neutral directory, the tree first on sys.path: not the checkout's wmx
        # the current directory or the editable install would give.
        result = subprocess.run(
            [sys.executable, "-c", RUN_WMX, *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.site.parent,
            env={**os.environ, "PYTHONPATH": str(self.tree)},
        )
        if result.returncode != 0:
            raise SystemExit(
                f"{self.label}: wmx {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def deploy(self) -> tuple[float, str]:
        start = time.perf_counter()
        out = self.wmx("--site", str(self.site), "deploy")
        return time.perf_counter() - start, out


def changed(output: str) -> str:
    match = re.search(r"(\d+) task\(s\) changed", output)
    return match.group(1) if match else "?"


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="the earlier revision (git rev)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of both sides (7)")
    parser.add_argument("--keep", action="store_true", help="leave the lab running afterwards")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/deploy_ab.py needs root (the lab boots containers)")
    base_rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="wmx-deploy-ab-") as tmp:
        work = Path(tmp)
        base_tree = work / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base_tree), base_rev],
            check=True,
        )
        sides = [
            Side(f"base {base_rev}", base_tree, work / "A", "a.test", "lab1"),
            Side("this checkout", ROOT, work / "B", "b.test", "lab2"),
        ]
        try:
            sides[1].wmx("lab", "down")
            sides[1].wmx("lab", "up", "--hosts", "2")
            for side in sides:
                side.wmx("init", str(side.site), "--defaults", "--server-name", side.server_name)
                side.wmx("lab", "up", "--hosts", "2", "--site", str(side.site), "--on", side.host)
            for side in sides:
                took, out = side.deploy()
                print(f"{side.label}: first deploy {took:.1f} s ({changed(out)} changed)")
            for round_ in range(1, args.rounds + 1):
                for side in sides if round_ % 2 else reversed(sides):
                    started_at = load()
                    took, out = side.deploy()
                    side.times.append(took)
                    print(
                        f"round {round_}: {side.label:<16} {took:5.1f} s "
                        f"({changed(out)} changed; load average {started_at})",
                        flush=True,
                    )
        finally:
            if not args.keep:
                sides[1].wmx("lab", "down")
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)],
                check=False,
            )
    base, this = sides
    print(f"\nwmx deploy, nothing changed ({args.rounds} rounds, alternately):")
    print(f"{'':16} {'median':>8} {'fastest':>8}")
    for side in sides:
        print(f"{side.label:<16} {statistics.median(side.times):7.1f}s {min(side.times):7.1f}s")
    ratio = statistics.median(this.times) / statistics.median(base.times)
    print(f"this checkout / base (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
