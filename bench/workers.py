"""What Synapse's workers buy, in one run on the same lab host: `wmx bench` against the
site with one Synapse process (`synapse.workers.preset: none`), then the same load after
`wmx config set synapse.workers.preset small` and a deploy, each figure printed beside
the other with the ratios of throughput and of p95 latency (docs/workers.md quotes them).

The site: `wmx init --defaults` (bench.test) on one fresh lab host (lab5), without the
components that do not serve messages (monitoring, IRC bridge, TURN, web client,
backups), so that the two runs differ only in the workers. Prints figures; asserts
nothing. Needs root and the lab lock; removes its host at the end (unless --keep).
About 6 minutes (two deploys, two bench runs).

    flock /tmp/wmx-lab.lock .venv/bin/python bench/workers.py [-u 20 -r 4 --rate 20 -d 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wmx.lab import Lab  # noqa: E402
from wmx.lab.addressing import host_index  # noqa: E402
from wmx.site.yamlfile import dump_document, load_document, write_atomically  # noqa: E402

WMX = str(Path(sys.executable).with_name("wmx"))
HOST = "lab5"
SERVER_NAME = "bench.test"
DROPPED = ("monitoring", "irc_bridge", "turn", "element", "backup")


def wmx(*args: str) -> str:
    result = subprocess.run([WMX, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"wmx {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def bench(site: Path, trust: Path, load: list[str]) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(
        wmx("--site", str(site), "bench", *load, "--ca-file", str(trust), "-o", "json")
    )
    return figures


def ratio(after: float | None, before: float | None) -> str:
    return f"x{after / before:.2f}" if after and before else "n/a"


def report(one: dict[str, Any], small: dict[str, Any]) -> list[str]:
    """The two runs side by side and the ratios (small / one process)."""
    rows = [
        ("messages sent", one["sent"], small["sent"]),
        ("received", one["received"], small["received"]),
        ("lost", one["lost"], small["lost"]),
        *(
            (key.replace("_", " "), sum(one[key].values()), sum(small[key].values()))
            for key in ("send_errors", "sync_errors")
        ),
        ("throughput (msg/s)", one["throughput_per_s"], small["throughput_per_s"]),
        *(
            (f"latency {p} (ms)", one["latency_ms"][p], small["latency_ms"][p])
            for p in ("p50", "p95", "p99", "max")
        ),
    ]
    lines = [f"{'':22} {'one process':>12} {'small preset':>13}"]
    for label, a, b in rows:
        lines.append(f"{label:22} {a!s:>12} {b!s:>13}")
    lines.append(
        "small / one process: throughput "
        f"{ratio(small['throughput_per_s'], one['throughput_per_s'])}, p95 latency "
        f"{ratio(small['latency_ms']['p95'], one['latency_ms']['p95'])}"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-u", "--users", default="20")
    parser.add_argument("-r", "--rooms", default="4")
    parser.add_argument("--rate", default="20", help="messages per second, all users")
    parser.add_argument("-d", "--duration", default="20", help="seconds")
    parser.add_argument("--keep", action="store_true", help="leave the lab host running")
    args = parser.parse_args()
    load = ["-u", args.users, "-r", args.rooms, "--rate", args.rate, "-d", args.duration]
    lab = Lab()
    with tempfile.TemporaryDirectory(prefix="wmx-bench-workers-") as tmp:
        site = Path(tmp) / "site"
        wmx("init", str(site), "--defaults", "--server-name", SERVER_NAME)
        for key, value in (("backup.enabled", "false"),):
            wmx("--site", str(site), "config", "set", key, value)
        lab.remove(HOST)
        wmx("lab", "up", "--hosts", str(host_index(HOST)), "--site", str(site), "--on", HOST)
        inventory = site / "inventory.yml"
        document = load_document(inventory)
        for group in DROPPED:
            document["all"]["children"].pop(group, None)
        write_atomically(inventory, dump_document(document))
        try:
            start = time.monotonic()
            wmx("--site", str(site), "deploy")
            print(f"deployed one process on {HOST} in {time.monotonic() - start:.0f} s")
            one = bench(site, lab.trust_bundle_path, load)
            wmx("--site", str(site), "config", "set", "synapse.workers.preset", "small")
            start = time.monotonic()
            wmx("--site", str(site), "deploy")
            print(f"deployed the small preset in {time.monotonic() - start:.0f} s")
            small = bench(site, lab.trust_bundle_path, load)
        finally:
            if not args.keep:
                lab.remove(HOST)
    print(
        f"load: {args.users} users in {args.rooms} rooms, {args.rate} msg/s for {args.duration} s"
    )
    print("\n".join(report(one, small)))
    print(json.dumps({"one_process": one, "small": small}, indent=2))


if __name__ == "__main__":
    main()
