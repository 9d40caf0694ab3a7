"""`wmx backup restore` and `wmx backup drill`: an archive back onto a host, then checked.

The restore runs as SSH steps, each a `wmx-backup` subcommand on the host (see
docs/backup.md for why not a playbook): fetch the archive into the host's restore
directory, stop the services, recreate the database (C collation) and pg_restore it, empty
e2e_one_time_keys_json, put media, signing key and unmanaged files back, start the
services, and compare what came back with what the archive recorded when it was made.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from wmx.admin.tunnel import synapse_tunnel
from wmx.backup.plan import RESTORE_DIR, repositories
from wmx.backup.progress import Steps
from wmx.backup.remote import HostTool, stream_between
from wmx.errors import InputError, WmxError
from wmx.render import render_host
from wmx.site import Site, load_site
from wmx.site.inventory import inventory_document
from wmx.site.secrets import write_secrets
from wmx.site.topology import GROUP_COMPONENTS, HostView
from wmx.site.yamlfile import dump_document, load_document, write_atomically

KEY_PATH = "/_matrix/key/v2/server"
# Groups whose hosts serve the site (every component group but the repository hosts'):
# a drill must never overwrite one of them.
SERVING_GROUPS = tuple(sorted(set(GROUP_COMPONENTS) - {"backup"}))
DRILL_COMPONENTS = ["base", "postgresql", "synapse", "backup"]


@dataclass(frozen=True)
class Check:
    """One comparison between what the archive recorded and what came back."""

    what: str
    expected: str
    actual: str

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass
class RestoreReport:
    target: str
    archive: str = ""
    repository: str = ""
    checks: list[Check] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=dict)
    error: str = ""  # set when the archive could not be restored at all

    @property
    def ok(self) -> bool:
        return not self.error and all(c.ok for c in self.checks)

    @property
    def mismatches(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "target": self.target,
            "archive": self.archive,
            "repository": self.repository,
            "error": self.error,
            "checks": [
                {"what": c.what, "expected": c.expected, "actual": c.actual, "ok": c.ok}
                for c in self.checks
            ],
            "files": self.files,
        }


# --- comparisons -------------------------------------------------------------------------


def _key_text(key: dict[str, Any]) -> str:
    if not key.get("present", True) or not key.get("key_id"):
        return "(no signing key)"
    return f"{key['key_id']} {key['public_key']}"


def compare_facts(
    archived: dict[str, Any],
    restored: dict[str, Any],
    media: dict[str, Any] | None,
    published: dict[str, str] | None,
) -> list[Check]:
    """What the drill (and every restore) reports: counts, latest events, media, keys."""
    checks: list[Check] = []
    before, after = archived.get("database", {}), restored.get("database", {})
    for name, label in (("users", "user count"), ("rooms", "room count"),
                        ("local_media", "uploaded media count")):  # fmt: skip
        checks.append(Check(label, str(before.get(name)), str(after.get(name))))
    latest_after = {r["room_id"]: r["latest_event_id"] for r in after.get("largest_rooms", [])}
    for room in before.get("largest_rooms", []):
        checks.append(
            Check(
                f"latest event of {room['room_id']} ({room['joined_members']} members)",
                str(room["latest_event_id"]),
                str(latest_after.get(room["room_id"], "(room missing)")),
            )
        )
    if media is not None:
        bad = [*media.get("mismatched", []), *media.get("missing", [])]
        checks.append(
            Check(
                "media file checksums (sha256)",
                f"{archived.get('media_files', media.get('checked'))} files match",
                f"{int(media.get('checked', 0)) - len(bad)} files match"
                + (f"; differ or missing: {', '.join(bad[:5])}" if bad else ""),
            )
        )
    original = _key_text(archived.get("signing_key", {}))
    checks.append(
        Check(
            "server signing key (restored file)",
            original,
            _key_text(restored.get("signing_key", {})),
        )
    )
    if published is not None:
        key_id = archived.get("signing_key", {}).get("key_id", "")
        shown = (
            f"{key_id} {published[key_id]}"
            if key_id in published
            else ", ".join(f"{k} {v}" for k, v in sorted(published.items())) or "(none)"
        )
        checks.append(Check(f"server key published at {KEY_PATH}", original, shown))
    return checks


def published_keys(host: HostView) -> dict[str, str] | None:
    """key id → public key that Synapse on `host` publishes; None without federation."""
    with synapse_tunnel(host) as base_url:
        try:
            response = httpx.get(f"{base_url}{KEY_PATH}", timeout=30)
        except httpx.HTTPError as error:
            raise WmxError(
                f"cannot read {KEY_PATH} on {host.name}: {type(error).__name__}"
            ) from None
    if response.status_code == 404:
        return None  # federation is off: Synapse publishes no key
    if response.status_code != 200:
        raise WmxError(f"{KEY_PATH} on {host.name} answered {response.status_code}")
    keys = response.json().get("verify_keys", {})
    return {str(k): str(v.get("key", "")) for k, v in keys.items()}


# --- the restore ---------------------------------------------------------------------------


def _data_host_of(site: Site, name: str) -> HostView:
    hosts = {h.name: h for h in site.topology.hosts}
    if name not in hosts:
        raise InputError(f"{name}: no such host in the inventory ({', '.join(hosts)})")
    host = hosts[name]
    if "homeserver" not in host.groups:
        raise InputError(
            f"--to {name}: a restore goes onto the site's homeserver host; point the "
            f"inventory's homeserver and database groups at {name}, `wmx deploy`, then restore"
        )
    if "database" not in host.groups:
        raise InputError(
            f"{name} runs Synapse but PostgreSQL is on {site.topology.the('database').name}: "
            "wmx restores only single-host data layouts (database and homeserver together); "
            "docs/backup.md shows the manual steps for a separate database host"
        )
    return host


def _has_data(facts: dict[str, Any]) -> str:
    db = facts.get("database", {})
    parts = []
    if db.get("other_users"):
        parts.append(f"{db['other_users']} user(s) besides wmx-admin")
    if db.get("rooms"):
        parts.append(f"{db['rooms']} room(s)")
    if db.get("local_media"):
        parts.append(f"{db['local_media']} uploaded file(s)")
    return ", ".join(parts)


def _fetch(
    reader: HostTool,
    target: HostTool,
    labels: list[str],
    archive: str,
    steps: Steps,
) -> tuple[str, str]:
    """Bring `archive` (or the latest) from the first repository holding it into the
    target's restore directory; returns (repository label, archive name)."""
    label, name = _resolve(reader, labels, archive)
    steps.step(f"Fetching {name} from {label}")
    if reader.host.name == target.host.name:
        target.json("extract", "--repo", label, "--archive", name, "--to", RESTORE_DIR)
        return label, name
    total = 0

    def advance(count: int) -> None:
        nonlocal total
        total += count
        steps.transferred(total)

    stream_between(
        reader,
        ["export-tar", "--repo", label, "--archive", name],
        target,
        ["receive", "--to", RESTORE_DIR],
        on_bytes=advance,
    )
    return label, name


def restore_onto(
    site: Site,
    target: HostView,
    *,
    reader: HostView,
    labels: list[str],
    archive: str,
    force: bool,
    steps: Steps,
    start_timer: bool,
) -> RestoreReport:
    """Restore onto `target` (a homeserver + database host of `site`), reading the
    repositories from `reader`; then compare. Refuses a target holding data unless force."""
    tool = HostTool(target)
    report = RestoreReport(target=target.name)
    steps.step(f"Checking {target.name}")
    live = tool.json("facts", timeout=300)
    data = _has_data(live)
    if data and not force:
        raise WmxError(
            f"{target.name} already holds data ({data}): a restore replaces its database and "
            "media. Restore onto a freshly deployed host, or pass --force to replace them"
        )
    managed = [f.dest for f in render_host(site, target)]
    try:
        report.repository, report.archive = _fetch(HostTool(reader), tool, labels, archive, steps)
        steps.step("Stopping Synapse and the backup timer")
        tool.json("stop-services")
        steps.step("Restoring the database (pg_restore, C collation)")
        tool.json("restore-db", "--from", RESTORE_DIR)
        steps.step("Restoring media, the signing key and unmanaged files")
        report.files = tool.json(
            "restore-files", "--from", RESTORE_DIR, input=_json({"managed": managed})
        )
        restored = tool.json("facts", timeout=300)
        archived = tool.json("facts", "--from", RESTORE_DIR)
        steps.step("Starting Synapse")
        tool.json("start-services", *(["--timer"] if start_timer else []), timeout=600)
        steps.step("Comparing what came back with the archive")
        media = tool.json("verify-media", "--from", RESTORE_DIR, timeout=3600)
        published = published_keys(target)
        report.checks = compare_facts(archived, restored, media, published)
        if published is None:
            steps.note("federation is off: Synapse publishes no server key to compare")
    finally:
        try:
            # The restore directory holds the database dump and secrets in clear.
            tool.json("clean-restore")
        except WmxError as error:
            steps.note(f"could not remove {RESTORE_DIR} on {target.name}: {error}")
    return report


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def restore(
    site: Site, *, archive: str, to: str, repo: str | None, force: bool, steps: Steps
) -> RestoreReport:
    """`wmx backup restore ARCHIVE --to HOST`."""
    target = _data_host_of(site, to)
    labels = _labels(site, repo)
    return restore_onto(
        site,
        target,
        reader=target,
        labels=labels,
        archive=archive,
        force=force,
        steps=steps,
        start_timer=True,
    )


def _labels(site: Site, repo: str | None) -> list[str]:
    known = [r.label for r in repositories(site.config, site.topology)]
    if repo is None:
        return known
    if repo not in known:
        raise InputError(f"--repo {repo}: no such repository; this site has {', '.join(known)}")
    return [repo]


# --- the drill ------------------------------------------------------------------------------


def drill_target(site: Site, to: str | None) -> HostView:
    """The throwaway host: --to, else the first inventory host that serves nothing."""
    hosts = {h.name: h for h in site.topology.hosts}
    if to is None:
        spares = [h for h in site.topology.hosts if not h.groups]
        if not spares:
            raise InputError(
                "no spare host in the inventory (a host in no group): add one, or name a "
                "throwaway host with --to HOST; the drill installs PostgreSQL and Synapse on it "
                "and overwrites their data"
            )
        return spares[0]
    if to not in hosts:
        raise InputError(f"--to {to}: no such host in the inventory ({', '.join(hosts)})")
    serving = sorted(set(hosts[to].groups) & set(SERVING_GROUPS))
    if serving:
        raise InputError(
            f"--to {to}: it serves the site ({', '.join(serving)}); a drill overwrites its "
            "target's database, so it only goes onto a spare host"
        )
    return hosts[to]


def drill_site(site: Site, target: HostView) -> Site:
    """A private copy of the site that runs everything on `target`, with no repository
    but a local one (so the drill host never writes to the site's repositories)."""
    root = site.paths.state / "drill" / target.name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, mode=0o700)
    os.chmod(site.paths.state / "drill", 0o700)
    document = load_document(site.paths.config)
    backup = document.setdefault("backup", {})
    backup["enabled"] = True
    backup["repositories"] = []
    backup["local_repository"] = True
    write_atomically(root / "wmx.yaml", dump_document(document), 0o600)
    write_secrets(root / "secrets.yml", site.secrets)
    host_vars = {target.name: dict(target.vars)}
    groups = {g: [target.name] for g in ("database", "homeserver", "proxy")}
    write_atomically(
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
    _data_host_of(site, reader.name)  # single-host data layouts only
    # The drill host as the rehearsal site sees it (database, homeserver and proxy).
    target = _data_host_of(rehearsal, target.name)
    source = HostTool(reader)
    try:
        label, name = _resolve(source, _labels(site, repo), archive)
    except WmxError as error:
        return RestoreReport(target=target.name, error=str(error))
    try:
        return restore_onto(
            rehearsal,
            target,
            reader=reader,
            labels=[label],
            archive=name,
            force=True,
            steps=steps,
            start_timer=False,
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


def _resolve(reader: HostTool, labels: list[str], archive: str) -> tuple[str, str]:
    """The first repository (label) holding `archive` (or any, for latest) and its name."""
    causes = []
    for label in labels:
        try:
            answer = reader.json("resolve", "--repo", label, "--archive", archive)
        except WmxError as error:
            causes.append(f"{label}: {error}")
            continue
        return label, str(answer["archive"])
    raise WmxError("no repository could provide the archive: " + "; ".join(causes))


def drill_state_dir(site: Site) -> Path:
    return site.paths.state / "drill"
