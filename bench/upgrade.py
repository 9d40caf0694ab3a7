"""The outage and migration time of `wmx upgrade apply`, beside a switch by hand (issue 12;
goal: an outage under 30 s for a minor release).

Needs a site that runs an older Synapse with the newer release's venv already installed
on the homeserver host (what tests/e2e/test_upgrade.py leaves with WMX_KEEP_LAB=1: 1.160.0
running, 1.163.2 installed beside it), so that both ways do the same thing on the host.
While each runs, a client outside asks the homeserver's public client API
(`/_matrix/client/versions` through nginx and TLS) every 0.2 s; the outage is the longest
run of failed answers.

1. Baseline, by hand over SSH: stop Synapse, point the `current` link at the new venv,
   start it, and poll /health on the host: the start-to-healthy time is the migrations.
2. Back to the old release by hand (not measured).
3. `wmx upgrade apply --to NEW` (backup, dump, install beside — already there —, switch,
   the whole gate): its record's migration time (start until /health answered).

Prints one table; asserts nothing.

    flock /tmp/wmx-lab.lock .venv/bin/python bench/upgrade.py SITE [--to VERSION]
"""

from __future__ import annotations

import argparse
import json
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

WMX = str(Path(sys.executable).with_name("wmx"))
GOAL = 30.0
INTERVAL = 0.2
UNIT = "matrix-synapse.service"
HEALTH = (
    "python3 - <<'EOF'\n"
    "import time, urllib.request\n"
    "url, start = 'http://127.0.0.1:8008/health', time.monotonic()\n"
    "while True:\n"
    "    try:\n"
    "        if urllib.request.urlopen(url, timeout=2).read() == b'OK':\n"
    "            break\n"
    "    except Exception:\n"
    "        pass\n"
    "    time.sleep(0.2)\n"
    "print(round(time.monotonic() - start, 1))\n"
    "EOF"
)


@dataclass
class Outside:
    """Asks the client API from outside until stopped; keeps each run of failures."""

    url: str
    ca: str
    failures: list[tuple[float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Outside:
        self._thread = threading.Thread(target=self._probe, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _probe(self) -> None:
        down_since: float | None = None
        with httpx.Client(verify=ssl.create_default_context(cafile=self.ca), timeout=2.0) as client:
            while not self._stop.is_set():
                now = time.monotonic()
                try:
                    ok = client.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if not ok and down_since is None:
                    down_since = now
                elif ok and down_since is not None:
                    self.failures.append((down_since, now))
                    down_since = None
                time.sleep(INTERVAL)
            if down_since is not None:
                self.failures.append((down_since, time.monotonic()))

    @property
    def longest(self) -> float:
        return max((end - start for start, end in self.failures), default=0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--to", help="the newer release (default: the one wmx pins)")
    parser.add_argument("--ca", help="CA bundle (default: the lab's trust bundle)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from wmx.components.synapse import SYNAPSE_CURRENT_LINK, SYNAPSE_VENVS_DIR
    from wmx.lab import Lab
    from wmx.site import load_site
    from wmx.site.releases import DEFAULT_SYNAPSE_VERSION
    from wmx.ssh import connection

    site = load_site(args.site)
    host = site.topology.the("homeserver")
    ca = args.ca or str(Lab().trust_bundle_path)
    url = f"https://{site.config.homeserver.host}/_matrix/client/versions"
    new = args.to or DEFAULT_SYNAPSE_VERSION

    def on_host(script: str) -> str:
        argv = connection(host).command(["sh", "-c", script])
        done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=900)
        return done.stdout.strip()

    old = on_host(f"readlink {SYNAPSE_CURRENT_LINK}").rsplit("/", 1)[-1]
    if old == new:
        print(f"the homeserver already runs {new}: deploy an older release first")
        return 1
    on_host(f"test -x {SYNAPSE_VENVS_DIR}/{new}/bin/python")

    def by_hand(version: str) -> tuple[float, float]:
        venv = f"{SYNAPSE_VENVS_DIR}/{version}"
        with Outside(url, ca) as outside:
            ready = on_host(
                f"set -e; systemctl stop {UNIT}; ln -sfn {venv} {SYNAPSE_CURRENT_LINK}.new; "
                f"mv -T {SYNAPSE_CURRENT_LINK}.new {SYNAPSE_CURRENT_LINK}; "
                f"systemctl start --no-block {UNIT}; {HEALTH}"
            )
            time.sleep(3)  # the outside client sees the server answer again
        return outside.longest, float(ready.splitlines()[-1])

    print(f"Synapse {old} → {new} on {host.name}, the client API asked from outside")
    hand_outage, hand_migration = by_hand(new)
    by_hand(old)
    started = time.monotonic()
    with Outside(url, ca) as outside:
        done = subprocess.run(
            [WMX, "--site", str(args.site), "upgrade", "apply", "--to", new],
            capture_output=True,
            text=True,
            check=False,
        )
        time.sleep(3)
    total = time.monotonic() - started
    record = json.loads((site.paths.state / "upgrades" / "last.json").read_text())
    rows = [
        ("by hand: stop, switch, start", hand_outage, hand_migration, "-"),
        (
            f"wmx upgrade apply (exit {done.returncode})",
            outside.longest,
            record.get("migration_s") or 0.0,
            f"{total:.1f} s",
        ),
    ]
    print(f"{'':34} {'outage (outside)':>17} {'start → /health':>16} {'whole run':>10}")
    for name, outage, migration, whole in rows:
        print(f"{name:34} {outage:>15.1f} s {migration:>14.1f} s {whole:>10}")
    print(f"goal: an outage under {GOAL:.0f} s")
    if done.returncode != 0:
        print(done.stderr.strip()[-2000:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
