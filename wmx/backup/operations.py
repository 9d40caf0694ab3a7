"""`wmx backup run`, `list` and `export-key`: the homeserver host's job, driven over SSH."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from wmx.backup.progress import Steps
from wmx.backup.remote import HostTool
from wmx.components.backup import backs_up
from wmx.errors import DISK_REFUSED, InputError, WmxError, WriteRefused
from wmx.site import Site
from wmx.site.given import given
from wmx.site.placed import check_file_place, make_directory
from wmx.site.topology import HostView
from wmx.site.yamlfile import write_atomically


def data_host(site: Site, name: str | None = None) -> HostView:
    """The host whose job a command talks to: the homeserver host unless named."""
    if not site.config.backup.enabled:
        raise InputError(
            "backups are off for this site: set backup.enabled: true in wmx.yaml "
            "(`wmx config set backup.enabled true`) and deploy"
        )
    hosts = {h.name: h for h in site.topology.hosts}
    if name is None:
        return site.topology.the("homeserver")
    if name not in hosts:
        raise InputError(
            f"--host {given(name)}: no such host in the inventory ({', '.join(hosts)})"
        )
    host = hosts[name]
    if not backs_up(site.config, host):
        raise InputError(f"--host {name}: it does not run the backup job (the homeserver does)")
    return host


@dataclass
class RunOutcome:
    ok: bool
    run: dict[str, Any]


def run_backup(host: HostView, steps: Steps, label: str | None = None) -> RunOutcome:
    """Run the job now on `host`, relaying its progress; the job's own record comes back.
    `label` is appended to the archive's name (`wmx upgrade` names its archive after the
    upgrade)."""
    result: dict[str, Any] = {}

    def on_event(event: dict[str, Any]) -> None:
        if "result" in event and isinstance(event["result"], dict):
            result.update(event["result"])
        elif "progress" in event:
            steps.transferred(int(event.get("original_size", 0)), int(event.get("nfiles", 0)))
        elif "step" in event:
            step = str(event["step"])
            if step.startswith("failed:") or "not pruned" in str(event.get("message", "")):
                steps.note(str(event.get("message", "")))
            else:
                steps.step(str(event.get("message", step)))

    label_args = ("--label", label) if label else ()
    HostTool(host).events("run", "--events", *label_args, on_event=on_event)
    if not result:
        raise WmxError(f"the backup job on {host.name} ended without a result")
    if result.get("busy"):
        raise WmxError(f"{host.name}: {result.get('error')}; try again when it has ended")
    return RunOutcome(ok=bool(result.get("ok")), run=result)


def list_archives(host: HostView) -> dict[str, Any]:
    """Every repository's archives (time, sizes) and the job's last run, from `host`."""
    data = HostTool(host).json("list", timeout=600)
    if not isinstance(data, dict):
        raise WmxError(f"wmx-backup list on {host.name} answered no listing")
    data["host"] = host.name
    return data


def export_key(host: HostView, repo: str, sink: IO[bytes], *, paper: bool = False) -> None:
    """Write the repository key (still encrypted with the passphrase) to `sink`."""
    args = ["export-key", "--repo", repo, *(["--paper"] if paper else [])]
    HostTool(host).stdout_to(args, sink)


def export_key_file(host: HostView, repo: str, path: Path, *, paper: bool = False) -> None:
    """Write the repository key to `path` (mode 0600) through a temporary file beside it,
    renamed into place once complete: a failed export never truncates or harms a key file
    that is already there. Its directory is no link (make_directory refused one) and is
    opened once: none put there meanwhile takes the key elsewhere (wmx.site.placed)."""

    def fill(handle: BinaryIO) -> None:
        export_key(host, repo, handle, paper=paper)
        handle.flush()
        if os.fstat(handle.fileno()).st_size == 0:
            raise WmxError(f"the key export of {repo} from {host.name} came back empty")

    write_atomically(
        path,
        fill,
        0o600,
        keep_mode=False,
        follow_links=False,
        purpose=KEY_PLACE,
        within=path.parent,
    )


KEY_PLACE = "cannot write a repository's key there"


def export_key_files(
    host: HostView, labels: Iterable[str], directory: Path, server_name: str, *, paper: bool
) -> Iterator[tuple[str, Path]]:
    """Export each repository's key into `directory` (created) as
    `SERVER_NAME-LABEL.borg-key`, yielding each label and its file once it is written."""
    try:
        make_directory(directory, KEY_PLACE, parents=True)
    except OSError as exc:
        where = given(directory)
        if exc.errno in DISK_REFUSED:  # the disk's refusal, not a wrong DIR: exit 1
            raise WriteRefused(where, exc) from None
        raise InputError(f"{where}: cannot create the directory ({exc.strerror})") from None
    paths = {label: directory / f"{server_name}-{label}.borg-key" for label in labels}
    for path in paths.values():  # each place looked at before a key is exported
        check_file_place(path, KEY_PLACE)
    for label, path in paths.items():
        export_key_file(host, label, path, paper=paper)
        yield label, path
