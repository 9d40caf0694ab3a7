"""Deploy timings on lab hosts, each beside its baseline from issue 18, in one run.

- the first deploy of the one-host stack (`wmx init --defaults`) onto a fresh lab host
  (lab1), and, right after, installing the same Debian and PyPI packages by hand on an
  identical fresh lab host (lab2), as an SRE would, in one shell script over one SSH
  session: `apt-get update`; one `apt-get install -y` of every package the deploy
  installs with recommends and one `apt-get install -y --no-install-recommends` of those
  it installs without (the same lists: wmx.ops.deploy_packages); then, one after the
  other, `python3 -m venv` and `pip install` of `matrix-synapse[<the role's extras>]==V`
  and `heisenbridge==V`, each into its own venv. Both hosts use the lab's shared apt
  archive cache and pip cache/wheelhouse, so neither downloads what an earlier run had;
- `wmx deploy` again with nothing changed (verify only), `--check`, and `--full`;
- where the first deploy's time went: the apt the play waited for (its transactions
  before the walk and, in the walk, its waits for those apt installs in the background),
  task time by role, by module and the slowest tasks, from its run events
  (SITE/.wmx/runs/<id>/artifacts/<id>/job_events; ``--runs-to DIR`` keeps a copy), and
  the load average when each side started (the machine may be shared).

Prints figures; asserts nothing. Needs root and the lab lock; it starts from `wmx lab
down` and ends with it (unless --keep). Heavy (10 minutes or more): run it once.

    flock /tmp/wmx-lab.lock .venv/bin/python bench/deploy.py [--keep] [--rounds N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WMX = str(Path(sys.executable).with_name("wmx"))
PLAYBOOKS = ROOT / "playbooks"

# Issue 18, measured on this kind of machine before the change.
BASELINE_NOOP = 69.0
BASELINE_FIRST = 3 * 60 + 52.0
TARGET_NOOP = 15.0
TARGET_RATIO = 1.3


def wmx(*args: str) -> str:
    result = subprocess.run([WMX, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"wmx {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def changed(output: str) -> str:
    match = re.search(r"(\d+) task\(s\) changed", output)
    return match.group(1) if match else "?"


def would_change(output: str) -> str:
    match = re.search(r"(\d+) task\(s\) would change", output)
    return match.group(1) if match else "?"


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def where_the_time_goes(runs: Path) -> list[str]:
    """The first deploy's task time by role and by module, from the run events wmx
    keeps (``runs/<id>/artifacts/<id>/job_events``): the oldest run is the first deploy."""
    run = min(path for path in runs.iterdir() if path.is_dir())
    by_role: dict[str, list[float]] = {}
    by_module: dict[str, list[float]] = {}
    by_task: dict[str, list[float]] = {}
    up_front = rest = 0.0
    for path in run.glob("artifacts/*/job_events/*.json"):
        event = json.loads(path.read_text())
        if event.get("event") not in ("runner_on_ok", "runner_on_failed", "runner_on_skipped"):
            continue
        data = event["event_data"]
        took = float(data.get("duration") or 0.0)
        if data.get("role") == "packages_wait" or (
            not data.get("role") and data.get("task_action") == "ansible.builtin.apt"
        ):
            up_front += took  # site.yml's transactions, the walk's waits for the later ones
        else:
            rest += took
        for table, key in (
            (by_role, data.get("role") or "(play)"),
            (by_module, data.get("task_action", "?")),
            (by_task, f"{data.get('role') or '(play)'}: {data.get('task', '?')}"),
        ):
            entry = table.setdefault(key, [0.0, 0])
            entry[0] += took
            entry[1] += 1
    lines = [
        f"first deploy's task time: apt the play waited for {up_front:.0f} s "
        f"(before the walk, and in it for the later transactions), everything else {rest:.0f} s"
    ]
    for title, table, count in (
        ("role", by_role, 8),
        ("module", by_module, 8),
        ("task", by_task, 15),
    ):
        top = sorted(table.items(), key=lambda item: -item[1][0])[:count]
        lines.append(
            f"first deploy by {title}: "
            + ", ".join(f"{name} {took:.0f} s/{count}" for name, (took, count) in top)
        )
    return lines


def packages_of(host_build: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """The host's Debian packages (with recommends, without) and PyPI releases, as its
    first deploy installs them: the same lists (wmx.ops.deploy_packages, from each role's
    defaults) and Synapse's extras from its role's defaults."""
    from wmx.ops.deploy_packages import host_transactions, role_defaults

    variables = json.loads((host_build / ".wmx" / "vars.json").read_text())
    roles = [s["role"] for s in variables["wmx_roles"] if s["action"] == "converge"]
    recommends: list[str] = []
    plain: list[str] = []
    for transaction in host_transactions(PLAYBOOKS, roles, variables):
        (recommends if transaction["recommends"] else plain).extend(transaction["names"])
    extras = ",".join(role_defaults(PLAYBOOKS, "synapse")["synapse_pip_extras"])
    pypi = {f"matrix-synapse[{extras}]": variables["synapse_version"]}
    if "irc_bridge_version" in variables:
        pypi["heisenbridge"] = variables["irc_bridge_version"]
    return recommends, plain, pypi


def by_hand_script(recommends: list[str], plain: list[str], pypi: dict[str, str]) -> str:
    """The by-hand install as one shell script; it prints when each phase ended (``phase
    NAME`` and bash's clock) so that the bench can say where its time went."""
    lines = [
        "set -eu",
        "export DEBIAN_FRONTEND=noninteractive",
        'phase() { echo "phase $1 $EPOCHREALTIME"; }',
        "phase start",
        "apt-get update -qq",
        f"apt-get install -y -qq {shlex.join(recommends)} >/dev/null",
    ]
    if plain:
        lines.append(
            f"apt-get install -y -qq --no-install-recommends {shlex.join(plain)} >/dev/null"
        )
    lines.append("phase apt")
    for number, (name, version) in enumerate(pypi.items()):
        venv = f"/opt/bench/venv{number}"
        lines.append(f"python3 -m venv {venv}")
        lines.append(f"{venv}/bin/pip install -q {shlex.quote(f'{name}=={version}')}")
        lines.append(f"phase {shlex.quote(name.split('[')[0])}")
    return "\n".join(lines) + "\n"


def phases(output: str) -> str:
    """``apt 31.0 s, matrix-synapse 22.1 s, …`` from the script's phase lines (bash's
    clock when each phase ended)."""
    found = re.findall(r"^phase (\S+) ([0-9.]+)$", output, re.MULTILINE)
    parts = [
        f"{name} {float(at) - float(before):.1f} s"
        for (_, before), (name, at) in itertools.pairwise(found)
    ]
    return ", ".join(parts) or "?"


@dataclass
class Round:
    """One side-by-side measurement on two fresh, identical lab hosts."""

    first: float = 0.0
    by_hand: float = 0.0
    order: str = ""
    loads: dict[str, float] = field(default_factory=dict)
    by_hand_phases: str = ""
    first_out: str = ""

    @property
    def ratio(self) -> float:
        return self.first / self.by_hand


def fresh_hosts(site: Path) -> tuple[Any, Any]:
    """lab1 for the site, lab2 a fresh twin outside it; both from `wmx lab down`."""
    from wmx.lab import Lab

    wmx("init", str(site), "--defaults", "--server-name", "wmx.test")
    wmx("lab", "down")
    wmx("lab", "up", "--hosts", "1", "--site", str(site))
    wmx("lab", "up", "--hosts", "2")  # lab2: a fresh twin, outside the site
    lab = Lab()
    return lab, next(h for h in lab.hosts() if h.name == "lab2")


def side_by_side(site: Path, by_hand_first: bool) -> Round:
    """The first deploy on lab1 and the same packages by hand on lab2, one after the
    other (the order given), each with the load average when it started."""
    lab, twin = fresh_hosts(site)
    measured = Round(order="by hand, then deploy" if by_hand_first else "deploy, then by hand")
    recommends, plain, pypi = packages_of_site(site)
    script = by_hand_script(recommends, plain, pypi)

    def deploy() -> None:
        measured.loads["first deploy"] = os.getloadavg()[0]
        start = time.perf_counter()
        measured.first_out = wmx("--site", str(site), "deploy")
        measured.first = time.perf_counter() - start

    def by_hand() -> None:
        measured.loads["by hand"] = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(
            lab.ssh_argv(twin, ["bash", "-s"]),
            input=script,
            text=True,
            check=True,
            capture_output=True,
        )
        measured.by_hand = time.perf_counter() - start
        measured.by_hand_phases = phases(done.stdout)

    for side in (by_hand, deploy) if by_hand_first else (deploy, by_hand):
        side()
    return measured


def packages_of_site(site: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """The packages of lab1's plan (`wmx render` writes its vars.json before any deploy)."""
    if not (site / "build" / "lab1" / ".wmx" / "vars.json").is_file():
        wmx("--site", str(site), "render")
    return packages_of(site / "build" / "lab1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the lab running afterwards")
    parser.add_argument(
        "--runs-to",
        type=Path,
        help="copy the site's run records (SITE/.wmx/runs) there before the site is removed",
    )
    parser.add_argument(
        "--release",
        default="bookworm",
        help="Debian release of both lab hosts (default bookworm, as issue 18's baseline)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="side-by-side rounds on fresh hosts, by hand first in every second one "
        "(default 1; each about 5 minutes): each pair is printed, and the median ratio",
    )
    options = parser.parse_args()
    os.environ["WMX_LAB_RELEASE"] = options.release  # `wmx lab up` reads it

    rounds: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="wmx-bench-") as tmp:
        for number in range(options.rounds):
            site = Path(tmp) / f"site{number}"
            rounds.append(side_by_side(site, by_hand_first=number % 2 == 1))
        # The lab now holds the last round's hosts: the verify-only figures and the
        # profile come from its site.
        site = Path(tmp) / f"site{options.rounds - 1}"
        noop_out: list[str] = []
        noop = timed(lambda: noop_out.append(wmx("--site", str(site), "deploy")))
        check_out: list[str] = []
        check = timed(lambda: check_out.append(wmx("--site", str(site), "deploy", "--check")))
        full_out: list[str] = []
        full = timed(lambda: full_out.append(wmx("--site", str(site), "deploy", "--full")))
        profile = where_the_time_goes(site / ".wmx" / "runs")
        if options.runs_to:
            shutil.copytree(site / ".wmx" / "runs", options.runs_to, dirs_exist_ok=True)
        recommends, plain, pypi = packages_of(site / "build" / "lab1")
        if not options.keep:
            wmx("lab", "down")

    last = rounds[-1]
    median = statistics.median(r.ratio for r in rounds)
    print(f"Debian {options.release} lab hosts")
    print(f"{'what':44} {'baseline (issue 18)':>20} {'now':>14}  target")
    print(
        f"{'wmx deploy, nothing changed':44} {BASELINE_NOOP:>18.0f} s {noop:>12.1f} s  "
        f"<= {TARGET_NOOP:.0f} s ({changed(noop_out[0])} changed)"
    )
    print(
        f"{'wmx deploy --check, nothing changed':44} {'-':>20} {check:>12.1f} s  "
        f"({would_change(check_out[0])} would change)"
    )
    print(
        f"{'wmx deploy --full, nothing changed':44} {BASELINE_NOOP:>18.0f} s {full:>12.1f} s  "
        f"({changed(full_out[0])} changed)"
    )
    print(
        f"{'first deploy, one-host stack, fresh host':44} {minutes(BASELINE_FIRST):>20} "
        f"{minutes(last.first):>14}  ({changed(last.first_out)} changed)"
    )
    print(
        f"{'same packages by hand, identical fresh host':44} {'-':>20} {minutes(last.by_hand):>14}"
    )
    print(
        f"{'first deploy / by hand':44} {'-':>20} {median:>14.2f}  "
        f"<= {TARGET_RATIO}" + (" (median of the rounds)" if len(rounds) > 1 else "")
    )
    for number, measured in enumerate(rounds, 1):
        print(
            f"round {number} ({measured.order}): first deploy {minutes(measured.first)}, "
            f"by hand {minutes(measured.by_hand)} ({measured.by_hand_phases}): "
            f"{measured.ratio:.2f}; load average (1 min) when each side started: "
            + ", ".join(f"{what} {load:.1f}" for what, load in measured.loads.items())
        )
    print(
        f"by hand: {len(recommends) + len(plain)} Debian packages, "
        f"{', '.join(f'{n}=={v}' for n, v in pypi.items())}"
    )
    print("\n".join(profile))


if __name__ == "__main__":
    main()
