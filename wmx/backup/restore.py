"""An archive back onto a host, then checked: the host-side steps of `wmx backup restore`
and `wmx backup drill` (the workflows themselves are in wmx.ops.restore and wmx.ops.drill).

The restore runs as SSH steps, each a `wmx-backup` subcommand on the host (see
docs/backup.md for why not a playbook): fetch the archive into the host's restore
directory, stop the services, recreate the database (C collation) and pg_restore it, empty
e2e_one_time_keys_json, put media, signing key and unmanaged files back, start the
services, and compare what came back with what the archive recorded when it was made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from wmx.admin.tunnel import synapse_tunnel
from wmx.backup.progress import Steps
from wmx.backup.remote import HostTool, stream_between
from wmx.components.backup import RESTORE_DIR, repositories
from wmx.errors import InputError, WmxError
from wmx.site import Site
from wmx.site.given import given
from wmx.site.topology import HostView

KEY_PATH = "/_matrix/key/v2/server"


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


def data_host_of(site: Site, name: str) -> HostView:
    hosts = {h.name: h for h in site.topology.hosts}
    if name not in hosts:
        raise InputError(f"--to {given(name)}: no such host in the inventory ({', '.join(hosts)})")
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
    label, name = resolve_archive(reader, labels, archive)
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
    target: HostView,
    *,
    reader: HostView,
    labels: list[str],
    archive: str,
    force: bool,
    steps: Steps,
    start_timer: bool,
    managed: list[str],
) -> RestoreReport:
    """Restore onto `target` (a homeserver + database host), reading the
    repositories from `reader`; then compare. Refuses a target holding data unless force.
    `managed`: the paths the deploy installs on `target` (kept as deployed)."""
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
    try:
        report.repository, report.archive = _fetch(HostTool(reader), tool, labels, archive, steps)
        steps.step("Stopping Synapse and the backup timer")
        tool.json("stop-services")
        steps.step("Restoring the database (pg_restore, C collation)")
        tool.json("restore-db", "--from", RESTORE_DIR)
        steps.step("Restoring media, the signing key and unmanaged files")
        report.files = tool.json(
            "restore-files", "--from", RESTORE_DIR, input=json.dumps({"managed": managed})
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


def repository_labels(site: Site, repo: str | None) -> list[str]:
    known = [r.label for r in repositories(site.config, site.topology)]
    if repo is None:
        return known
    if repo not in known:
        raise InputError(
            f"--repo {given(repo)}: no such repository; this site has {', '.join(known)}"
        )
    return [repo]


def resolve_archive(reader: HostTool, labels: list[str], archive: str) -> tuple[str, str]:
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
