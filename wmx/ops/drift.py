"""Files a deploy would only verify that were edited by hand on their host.

A component unchanged since the last deploy is only verified (wmx.ops.deploy_plan): its
files are not copied again, so a hand edit on the host (a homeserver.yaml "fixed" over
SSH, a passphrase file replaced) would outlive every deploy but `--full`. Before the
run, wmx hashes on each host the files of the components it would only verify (one
`sha256sum` a host, the hosts in parallel, only hashes crossing the wire) and converges
again each component with a file that differs from its rendering or is gone. A host that
cannot be asked is left to the run, which names the cause in its own line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from wmx.ops.deploy_plan import HostPlan, choose_actions, host_path
from wmx.site.topology import HostView
from wmx.ssh.connection import run_as_root
from wmx.ssh.sums import Runner, host_sums

MAX_PARALLEL = 8  # hosts asked at once


def verified_files(plan: HostPlan) -> dict[str, tuple[str, str]]:
    """Path → (role, SHA-256 of its rendering) of every file of the roles `plan` only
    verifies."""
    files: dict[str, tuple[str, str]] = {}
    for role in plan.roles_doing("verify"):
        for entry in plan.files.get(role, []):
            dest, digest = entry.get("dest"), entry.get("sha256")
            if host_path(dest) and isinstance(digest, str):
                files[str(dest)] = (role, digest)
    return files


def converge_drifted(
    hosts: Sequence[HostView], plans: Mapping[str, HostPlan], run: Runner = run_as_root
) -> None:
    """Find, on each of `hosts`, the files of its verified roles edited or gone since the
    last deploy; such a role's steps all run (plan.actions), and plan.drifted says why."""
    expected = {h.name: verified_files(plans[h.name]) for h in hosts}
    asked = [h for h in hosts if expected[h.name]]
    if not asked:
        return
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(asked))) as pool:
        found = pool.map(lambda h: host_sums(h, sorted(expected[h.name]), run), asked)
        answers = dict(zip((h.name for h in asked), found, strict=True))
    for name, sums in answers.items():
        if sums is None:
            continue
        drifted: dict[str, list[str]] = {}
        for path, (role, digest) in sorted(expected[name].items()):
            if sums.get(path) != digest:
                drifted.setdefault(role, []).append(path)
        if drifted:
            plan = plans[name]
            plan.drifted = drifted
            plan.actions = choose_actions(plan.steps, plan.digests, plan.recorded, redo=drifted)
