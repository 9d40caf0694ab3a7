"""Files wmx manages that differ on a host from what the last deploy recorded.

`wmx diff` compares the rendering with the last deploy's record, not with the hosts: a
hand edit on a host (a homeserver.yaml "fixed" over SSH, a passphrase file replaced) is
not seen there; the next plain `wmx deploy` puts it back (wmx.ops.drift). This check
hashes, on each host, every file of the last deploy's manifest
(`.wmx/deployed/HOST/.wmx/manifest.json`) and compares with the hashes the deploy
recorded. Only hashes cross the wire, never a file's content. (A `wmx deploy --only`
records the components it left out as the last deploy had them, so their files are
compared with what is on the host.)"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from wmx.doctor.checks import Check, failed, passed
from wmx.doctor.inside import HostRunner
from wmx.errors import InputError
from wmx.site.state_files import read_manifest
from wmx.site.topology import HostView
from wmx.ssh.sums import SumsUnavailable, ask_sums
from wmx.status.probe import stderr_cause

SHOWN = 5  # paths named in the detail; the rest are counted
FIX = (
    "`wmx deploy` puts them back as wmx renders them and names them (`wmx diff` does not "
    "look at the hosts); to keep a change, make it in wmx.yaml"
)


def deployed_hashes(deployed: Path) -> dict[str, str]:
    """Target path → SHA-256 of every file the last deploy to this host put there (a
    path that is not absolute and normalised is left out: it is not one wmx writes)."""
    hashes: dict[str, str] = {}
    for entry in read_manifest(deployed).values():
        dest, digest = entry.get("dest"), entry.get("sha256")
        if not isinstance(dest, str) or not isinstance(digest, str):
            continue
        path = PurePosixPath(dest)
        if (
            path.is_absolute()
            and str(path) == dest
            and ".." not in path.parts
            and dest.isprintable()
        ):
            hashes[dest] = digest
    return hashes


def _named(paths: list[str]) -> str:
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


def drift_check(host: HostView, deployed: Path, run: HostRunner) -> Check:
    """✓ when every file of the last deploy to `host` is there with the content it had."""
    id, title = f"config-drift:{host.name}", f"Files wmx manages on {host.name} as deployed"
    try:
        expected = deployed_hashes(deployed)
    except InputError as exc:
        return failed(id, title, str(exc), "`wmx deploy --full` records it again", "inside")
    if not expected:
        return passed(id, title, "no deploy from this site recorded yet", "inside")
    try:
        sums = ask_sums(host, sorted(expected), run)
    except SumsUnavailable as exc:
        fallback = f"sha256sum status {exc.returncode}"
        cause = exc.cause if exc.returncode is None else stderr_cause(exc.cause, fallback)
        return failed(id, title, cause, f"check that `wmx status` reaches {host.name}", "inside")
    changed = [p for p in sorted(expected) if p in sums and sums[p] != expected[p]]
    missing = [p for p in sorted(expected) if p not in sums]
    if not changed and not missing:
        files = f"{len(expected)} file{'' if len(expected) == 1 else 's'}"
        return passed(id, title, f"{files} as the last deploy left them", "inside")
    detail = []
    if changed:
        detail.append(f"edited on the host since the last deploy: {_named(changed)}")
    if missing:
        detail.append(f"missing: {_named(missing)}")
    return failed(id, title, "; ".join(detail), FIX, "inside")
