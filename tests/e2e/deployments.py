"""Deployed sites the e2e tests start from: deployed once, then booted from a snapshot.

A first deploy takes minutes; booting a copy of the hosts it left takes seconds. So a
deployed site is kept as a lab snapshot of its hosts (wmx/lab/snapshots.py) plus a copy of
its site directory (wmx.yaml, inventory, secrets, build tree, runs), and a later session
that would deploy the very same thing boots the copy instead.

"The very same thing" is decided by a key, a digest of everything the deployed hosts
depend on: wmx's source (the CLI that deploys, and what it renders), templates/ and
playbooks/, the Debian release of the lab's hosts ($WMX_LAB_RELEASE) and its rootfs
recipe, the installed ansible-core, the test module that describes the site (its settings
and how it is attached to the lab), this file, the recipe itself, and the absolute
places a site records (the checkout the tests run from and the shared client archives:
a clone elsewhere, such as CI's, writes other paths into wmx.yaml). Any change to one
of them deploys afresh and replaces the snapshot. What it does not cover is the outside
world: packages Debian or PyPI publish later under the same pinned versions.

A booted copy is used only if no unit failed in it that the deploy had running; otherwise
the site is deployed afresh and a SnapshotBootWarning says which unit and why.

Set WMX_E2E_SNAPSHOTS=0 to always deploy (and keep no snapshot).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import wmx
from wmx.lab import Lab, LabError, hostrelease, rootfs
from wmx.lab.cinny import clients_dir
from wmx.resources import data_dir

SNAPSHOTS_VARIABLE = "WMX_E2E_SNAPSHOTS"


def snapshots_enabled() -> bool:
    return os.environ.get(SNAPSHOTS_VARIABLE, "1") not in ("0", "")


@dataclass(frozen=True)
class Recipe:
    """How a test module's site is made: its name, the lab hosts it runs on, and the
    file that says how (the test module, whose source is part of the key)."""

    name: str
    hosts: tuple[str, ...]
    described_in: str
    details: dict[str, object] = field(default_factory=dict)


@dataclass
class Deployment:
    root: Path
    first_deploy: subprocess.CompletedProcess[str]
    # True when the hosts were booted from a snapshot rather than deployed in this session.
    restored: bool


def _tree_digest(digest: hashlib._Hash, base: Path) -> None:
    for path in sorted(base.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(base)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")


def key_of(recipe: Recipe) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([recipe.name, recipe.hosts, recipe.details], sort_keys=True).encode())
    _tree_digest(digest, Path(wmx.__file__).resolve().parent)
    for name in ("templates", "playbooks"):
        _tree_digest(digest, data_dir(name))
    for file in (Path(recipe.described_in), Path(__file__)):
        digest.update(file.read_bytes())
    release = hostrelease.default_release()
    digest.update(release.encode() + b"\0" + rootfs.recipe_digest(release).encode())
    digest.update(metadata.version("ansible-core").encode())
    for place in (Path(__file__).resolve().parent, clients_dir().resolve()):
        digest.update(str(place).encode() + b"\0")
    return digest.hexdigest()


def _site_cache(lab: Lab, name: str) -> Path:
    return lab.paths.cache_dir / "e2e-sites" / name


def _snapshot_name(recipe: Recipe) -> str:
    # One snapshot per release: the e2e tier runs on trixie and a subset on bookworm.
    return f"e2e-{hostrelease.default_release()}-{recipe.name}"


def _failed_units(lab: Lab, hosts: Iterable[str]) -> dict[str, list[str]]:
    """The units each host has failed, once its boot has settled."""
    failed = {}
    for host in hosts:
        # --wait: until the boot is done (its answer, degraded or running, is not needed).
        lab.run(host, ["systemctl", "is-system-running", "--wait"], check=False, timeout=300)
        listing = lab.run(
            host, ["systemctl", "list-units", "--failed", "--plain", "--no-legend"], check=False
        ).stdout
        failed[host] = sorted(line.split()[0] for line in listing.splitlines() if line.strip())
    return failed


# wmx-backup.timer is Persistent= with RandomizedDelaySec=5min, and its stamp is the
# deploy's: a copy booted on a later day runs the missed daily backup up to 5 min after
# boot, beside the tests' own `wmx backup run` (busy, or one archive more). The missed
# run counts as done now, and one already started is waited for.
SETTLE_BACKUP_TIMER = (
    "systemctl -q is-enabled wmx-backup.timer 2>/dev/null || exit 0; "
    "touch /var/lib/systemd/timers/stamp-wmx-backup.timer; "
    "systemctl restart wmx-backup.timer; "
    'while [ "$(systemctl show -P ActiveState wmx-backup.service)" = activating ]; '
    "do sleep 1; done"
)


def _settle_backup_timer(lab: Lab, hosts: Iterable[str]) -> None:
    for host in hosts:
        lab.run(host, ["sh", "-c", SETTLE_BACKUP_TIMER], timeout=900)


class SnapshotBootWarning(UserWarning):
    """A booted copy of a deployed site had a unit failed that its deploy had running."""


def _new_failures(
    lab: Lab, hosts: Iterable[str], at_deploy: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The units each host has failed now that had not failed when the site was deployed.

    A booted copy may be healthier than the deploy was (a root session's user manager that
    failed as the deploy's session ended is not failed after a boot), never sicker.
    """
    now = _failed_units(lab, hosts)
    new = {host: sorted(set(units) - set(at_deploy.get(host, []))) for host, units in now.items()}
    return {host: units for host, units in new.items() if units}


def _why_failed(lab: Lab, failures: dict[str, list[str]]) -> str:
    """systemd's account of each failed unit: its result, exit status and last lines."""
    parts = []
    for host, units in failures.items():
        for unit in units:
            status = lab.run(
                host,
                ["systemctl", "status", "--no-pager", "--full", "--lines=20", unit],
                check=False,
            )
            parts.append(f"--- {host}: {unit}\n{status.stdout.strip()}")
    return "\n".join(parts)


def deployed_site(
    recipe: Recipe,
    lab: Lab,
    root: Path,
    deploy: Callable[[Path], subprocess.CompletedProcess[str]],
    on_restore: Callable[[Deployment], None] = lambda deployment: None,
) -> Deployment:
    """The site of ``recipe`` in ``root``, deployed on its lab hosts.

    Boots the snapshot when it holds what ``deploy(root)`` would make now; otherwise runs
    ``deploy`` (which creates the site in ``root`` and deploys it, returning the first
    deploy's result) and keeps a snapshot for the next session.
    """
    key = key_of(recipe)
    name = _snapshot_name(recipe)
    cache = _site_cache(lab, name)
    if snapshots_enabled():
        snapshot = lab.find_snapshot(name)
        if (
            snapshot is not None
            and snapshot.meta.get("key") == key
            and set(snapshot.hosts) == set(recipe.hosts)
            and (cache / "key").is_file()
            and (cache / "key").read_text() == key
        ):
            start = time.monotonic()
            shutil.copytree(cache / "site", root, symlinks=True)
            lab.up_from_snapshot(name)
            sicker = _new_failures(lab, recipe.hosts, snapshot.meta.get("failed_units", {}))
            _settle_backup_timer(lab, recipe.hosts)
            if not sicker:
                first = snapshot.meta["first_deploy"]
                deployment = Deployment(
                    root=root,
                    first_deploy=subprocess.CompletedProcess(
                        first["args"], first["returncode"], first["stdout"], first["stderr"]
                    ),
                    restored=True,
                )
                on_restore(deployment)
                _say(f"{recipe.name}: booted snapshot {name} in {time.monotonic() - start:.0f} s")
                return deployment
            # The copy is a cache of the deploy: one sicker than the deploy it copies is not
            # what the tests asked for, so they get the real thing (its hosts are replaced),
            # and the reason is kept where a CI log shows it.
            warnings.warn(
                SnapshotBootWarning(
                    f"hosts booted from snapshot {name} have failed units that the fresh "
                    f"deploy did not have, so {recipe.name} is deployed afresh: "
                    + _why_failed(lab, sicker)
                ),
                stacklevel=2,
            )
            shutil.rmtree(root)
    start = time.monotonic()
    result = deploy(root)
    _say(f"{recipe.name}: deployed in {time.monotonic() - start:.0f} s")
    _harvest_wheels(lab, recipe.hosts)
    if snapshots_enabled():
        start = time.monotonic()
        _keep(recipe, lab, root, key, result)
        _say(f"{recipe.name}: snapshot {name} taken in {time.monotonic() - start:.0f} s")
    return Deployment(root=root, first_deploy=result, restored=False)


def _harvest_wheels(lab: Lab, hosts: Iterable[str]) -> None:
    """Let later deploys (this session's and the next) take the wheels these hosts
    downloaded or built from the lab's wheelhouse; a speed-up, so a failure only warns."""
    for host in hosts:
        start = time.monotonic()
        try:
            added = lab.harvest_wheels(host)
        except LabError as error:
            _say(f"could not add {host}'s wheels to the wheelhouse: {error}")
            continue
        _say(
            f"{host}: {added} wheel(s) added to the wheelhouse in {time.monotonic() - start:.0f} s"
        )


def _say(line: str) -> None:
    """Where the time went, for `pytest -s` (the suite's timing summary sums it up)."""
    print(f"[e2e deployments] {line}", file=sys.stderr)


def _keep(
    recipe: Recipe, lab: Lab, root: Path, key: str, result: subprocess.CompletedProcess[str]
) -> None:
    name = _snapshot_name(recipe)
    cache = _site_cache(lab, name)
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True, mode=0o700)
    shutil.copytree(root, cache / "site", symlinks=True)
    meta = {
        "key": key,
        "failed_units": _failed_units(lab, recipe.hosts),
        "first_deploy": {
            "args": list(result.args),
            "returncode": result.returncode,
            "stdout": result.stdout,
            "stderr": result.stderr,
        },
    }
    lab.snapshot(name, list(recipe.hosts), meta)
    (cache / "key").write_text(key)  # last: a site copy without it is never used
