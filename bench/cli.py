"""CLI timings, each printed beside its baseline from issue 18, all measured in one run:
`wmx --help` start-up, `wmx render` of a one-host site, and `wmx user list` over 10,000
accounts against a real local Synapse (the integration tier's, on SQLite). Prints
figures; asserts nothing. Needs no root and no lab.

    .venv/bin/python bench/cli.py [--accounts N] [--runs N]

wmx runs as an installed wmx does, from bytecode: the run first compiles wmx's modules
(`python -m compileall`; pip does the same when it installs a wheel). Without it, a
shell that sets PYTHONDONTWRITEBYTECODE (as this machine's does) makes every run compile
all of wmx's imported modules again, about 0.06 s of `wmx render`.

`user list` reaches Synapse with --url on loopback here; the issue's baseline also
included opening the SSH tunnel (about 0.3 s on a lab host), which this run has not.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.synapse_server import SERVER_NAME, start_synapse  # noqa: E402
from wmx.site import load_site  # noqa: E402
from wmx.site.init import InitAnswers, init_site  # noqa: E402

WMX = str(Path(sys.executable).with_name("wmx"))
# Issue 18, measured on this kind of machine (2 cores) before this work.
BASELINE = {"help": 0.67, "render": 0.74, "user list": 6.3}
TARGET = {"help": 0.25, "render": 0.3, "user list": 2.0}


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of one run (its CPU time is added to CPU_SECONDS)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        argv,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "160", **(env or {})},
    )
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[1:])} failed ({done.returncode}): {done.stderr.strip()}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


# CPU seconds (user + system) of each run of `timed`: less disturbed than the wall clock
# when the machine is busy with other work.
CPU_SECONDS: list[float] = []


def median(runs: int, measure: Callable[[], float]) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds over `runs` runs."""
    del CPU_SECONDS[:]
    wall = statistics.median(measure() for _ in range(runs))
    return wall, statistics.median(CPU_SECONDS)


def report(label: str, key: str, seconds: tuple[float, float]) -> None:
    wall, cpu = seconds
    print(
        f"{label:42} {wall:5.2f} s (CPU {cpu:4.2f} s)   "
        f"was {BASELINE[key]:.2f} s, target ≤ {TARGET[key]:.2f} s"
    )


def add_accounts(database: Path, count: int) -> None:
    """`count` plain accounts with display names, written straight into Synapse's
    database (the Admin API would take minutes to create them one by one)."""
    now = int(time.time() * 1000)
    with sqlite3.connect(database, timeout=30) as db:
        db.executemany(
            "INSERT INTO users (name, password_hash, creation_ts, admin, is_guest, deactivated)"
            " VALUES (?, NULL, ?, 0, 0, 0)",
            [(f"@bench{n:05d}:{SERVER_NAME}", now // 1000) for n in range(count)],
        )
        columns = {row[1] for row in db.execute("PRAGMA table_info(profiles)")}
        rows = [(f"bench{n:05d}", f"Bench user {n}") for n in range(count)]
        if "full_user_id" in columns:
            db.executemany(
                "INSERT INTO profiles (user_id, displayname, full_user_id) VALUES (?, ?, ?)",
                [(local, name, f"@{local}:{SERVER_NAME}") for local, name in rows],
            )
        else:
            db.executemany("INSERT INTO profiles (user_id, displayname) VALUES (?, ?)", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    options = parser.parse_args()
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "wmx")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.1f}; medians of {options.runs} runs")
    report("wmx --help", "help", median(options.runs, lambda: timed([WMX, "--help"])))

    with tempfile.TemporaryDirectory(prefix="wmx-bench-") as tmp:
        answers = InitAnswers(
            server_name=SERVER_NAME,
            homeserver_host=f"matrix.{SERVER_NAME}",
            web_client_host=f"element.{SERVER_NAME}",
            admin_email=f"admin@{SERVER_NAME}",
            acme_email=f"acme@{SERVER_NAME}",
        )
        site = init_site(Path(tmp) / "site", answers).root
        render = [WMX, "--site", str(site), "render"]
        report("wmx render (one-host site)", "render", median(options.runs, lambda: timed(render)))

        synapse = start_synapse(Path(tmp) / "synapse", load_site(site).secrets)
        try:
            add_accounts(synapse.workdir / "homeserver.db", options.accounts)
            env = {"WMX_ADMIN_URL": synapse.url}
            listing = [WMX, "--site", str(site), "user", "list"]
            timed([*listing, "--limit", "1"], env)  # first use: registers wmx-admin
            label = f"wmx user list, {options.accounts:,} accounts"
            report(label, "user list", median(options.runs, lambda: timed(listing, env)))
            as_json = median(options.runs, lambda: timed([*listing, "-o", "json"], env))
            report(label + ", -o json", "user list", as_json)
        finally:
            synapse.stop()


if __name__ == "__main__":
    main()
