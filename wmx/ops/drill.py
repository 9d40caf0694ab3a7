"""`wmx backup drill`: restore the latest archive onto a throwaway host and compare, so
that a backup is known to restore before it is needed. The live server is only read.

The drill host gets a private copy of the site (everything on that host, no repository
but a local one), is deployed with the data side only, then restored from an archive the
live homeserver host streams to it through this machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager

from rich.console import Console
from rich.markup import escape

from wmx.backup.progress import Steps
from wmx.backup.remote import HostTool
from wmx.backup.restore import (
    Check,
    RestoreReport,
    data_host_of,
    repository_labels,
    resolve_archive,
    restore_onto,
)
from wmx.errors import InputError, WmxError
from wmx.ops.deploy import deploy_site
from wmx.ops.restore import managed_paths
from wmx.site import Site, load_site
from wmx.site.given import given
from wmx.site.inventory import inventory_document
from wmx.site.placed import open_directory
from wmx.site.secrets import write_secrets
from wmx.site.state_files import STATE_PLACE, write_state
from wmx.site.topology import GROUPS, HostView
from wmx.site.yamlfile import dump_document, load_document

# Groups whose hosts serve the site (every component group but the repository hosts'):
# a drill must never overwrite one of them.
SERVING_GROUPS = tuple(sorted(set(GROUPS) - {"backup"}))
DRILL_COMPONENTS = ["base", "postgresql", "synapse", "backup"]


def drill_target(site: Site, to: str | None, option: str = "--to", work: str = "drill") -> HostView:
    """The throwaway host: `option` (--to, or rehearse's --on), else the first inventory
    host that serves nothing; `work` names what goes onto it in the refusals."""
    hosts = {h.name: h for h in site.topology.hosts}
    if to is None:
        spares = [h for h in site.topology.hosts if not h.groups]
        if not spares:
            raise InputError(
                "no spare host in the inventory (a host in no group): add one, or name a "
                f"throwaway host with {option} HOST; the {work} installs PostgreSQL and "
                "Synapse on it and overwrites their data"
            )
        return spares[0]
    if to not in hosts:
        raise InputError(
            f"{option} {given(to)}: no such host in the inventory ({', '.join(hosts)})"
        )
    serving = sorted(set(hosts[to].groups) & set(SERVING_GROUPS))
    if serving:
        raise InputError(
            f"{option} {to}: it serves the site ({', '.join(serving)}); a {work} overwrites "
            "its target's database, so it only goes onto a spare host"
        )
    return hosts[to]


def drill_site(site: Site, target: HostView) -> Site:
    """A private copy of the site that runs everything on `target`, with no repository
    but a local one (so the drill host never writes to the site's repositories)."""
    root = site.paths.state / "drill" / target.name
    shutil.rmtree(root, ignore_errors=True)  # removes no link: rmtree refuses one
    site.paths.state.mkdir(parents=True, exist_ok=True)
    # drill/ and drill/HOST made and opened without following a link: one left there
    # (wmx makes none) is refused in one line, never written through, since the copy
    # holds the site's secrets (it had been a traceback: mkdir found the link).
    os.close(open_directory(root, STATE_PLACE, within=root.parent, make=0o700))
    os.chmod(root.parent, 0o700)
    document = load_document(site.paths.config)
    backup = document.setdefault("backup", {})
    backup["enabled"] = True
    backup["repositories"] = []
    backup["local_repository"] = True
    write_state(root / "wmx.yaml", dump_document(document), 0o600)
    write_secrets(root / "secrets.yml", site.secrets)
    host_vars = {target.name: dict(target.vars)}
    groups = {g: [target.name] for g in ("database", "homeserver", "proxy")}
    write_state(
        root / "inventory.yml",
        "# Written by `wmx backup drill`: the drill host runs the whole site's data side.\n"
        + dump_document(inventory_document(host_vars, groups)),
        0o600,
    )
    return load_site(root)


def drill(
    site: Site,
    rehearsal: Site,
    target: HostView,
    *,
    repo: str | None,
    archive: str,
    steps: Steps,
) -> RestoreReport:
    """Restore the site's archive onto the (deployed) drill host and compare.

    The live homeserver host reads the repository and streams the archive to the drill
    host through this machine: the drill host needs no access to any repository.
    """
    reader = site.topology.the("homeserver")
    data_host_of(site, reader.name)  # single-host data layouts only
    # The drill host as the rehearsal site sees it (database, homeserver and proxy).
    target = data_host_of(rehearsal, target.name)
    source = HostTool(reader)
    try:
        label, name = resolve_archive(source, repository_labels(site, repo), archive)
    except WmxError as error:
        return RestoreReport(target=target.name, error=str(error))
    try:
        return restore_onto(
            target,
            reader=reader,
            labels=[label],
            archive=name,
            force=True,
            steps=steps,
            start_timer=False,
            managed=managed_paths(rehearsal, target),
        )
    except WmxError as error:
        report = RestoreReport(target=target.name, archive=name, repository=label, error=str(error))
    # Name what is damaged: read each part of the archive on its own.
    steps.step(f"Reading each part of {name} to find the damage")
    try:
        parts = source.json("probe", "--repo", label, "--archive", name, timeout=3600)
    except WmxError as error:
        steps.note(f"could not read the archive part by part: {error}")
        return report
    report.checks = [
        Check(f"archive part readable: {part}", "readable", str(state))
        for part, state in parts.items()
    ]
    return report


def deploy_drill_host(rehearsal: Site, target: HostView, *, console: Console) -> None:
    """Deploy the data side (PostgreSQL, Synapse, backup tools) onto the drill host, as
    `wmx deploy --only … --limit HOST` would for the rehearsal site; Ansible's progress
    goes to `console`."""
    # throwaway: a spare host an earlier rehearsal upgraded runs a newer Synapse than the
    # site's; the restore replaces its database, so going back there loses nothing.
    ran = deploy_site(
        rehearsal,
        limit=target.name,
        only=DRILL_COMPONENTS,
        full=True,
        console=console,
        throwaway=True,
    )
    if not ran.ok:
        raise WmxError(f"could not deploy the drill host {target.name}")


def rehearse(
    site: Site,
    *,
    to: str | None,
    repo: str | None,
    archive: str,
    console: Console,
    steps: Callable[[], AbstractContextManager[Steps]],
) -> RestoreReport:
    """The whole drill: choose the throwaway host, deploy the data side onto it (Ansible's
    progress on `console`), restore the archive (progress on a `steps()` display) and
    compare."""
    target = drill_target(site, to)
    rehearsal = drill_site(site, target)
    console.print(
        f"Deploying the drill host {escape(target.name)} (PostgreSQL, Synapse, backup tools)"
    )
    deploy_drill_host(rehearsal, target, console=console)
    with steps() as display:
        return drill(site, rehearsal, target, repo=repo, archive=archive, steps=display)
