"""Write the rendered site to build/<host>/… and compare it with the last deploy."""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import os
import shutil
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from wmx.errors import DISK_REFUSED, WmxError, WriteRefused
from wmx.render.engine import RenderedFile
from wmx.render.plan import SitePlan, host_role_vars, site_views, vars_text
from wmx.site import Site
from wmx.site.deployed import record_deployment, replace_tree
from wmx.site.placed import open_directory
from wmx.site.state_files import confined_file, kept_lines, read_manifest, read_state
from wmx.site.yamlfile import locked

STATE_DIR = ".wmx"  # inside build/<host>/: manifest.json and vars.json


def _confined(path: Path, root: Path) -> Path:
    """`path`, proven to stay under `root` (no `..`, absolute part or symlink out): host
    names and template paths become paths here (issue 10)."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise WmxError(f"{path}: refusing to write outside {root}", exit_code=2)
    return path


BUILD_PLACE = "wmx writes the rendered site there"


def _write_private(path: Path, content: str | bytes, tree: Path) -> None:
    """Write `path` (0600) in the new `tree` wmx made (0700), its directories made as
    needed, through no symbolic link: each directory from `tree` down is opened without
    following one, and the file is made in the last (wmx.site.placed.open_directory), so
    that none swapped in after the tree was made takes a file elsewhere."""
    directory = open_directory(path.parent, BUILD_PLACE, within=tree, make=0o700)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path.name, flags, 0o600, dir_fd=directory)
    finally:
        os.close(directory)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content.encode() if isinstance(content, str) else content)


def build_busy(build: Path) -> str:
    """Why a render or deploy refuses while another holds build/'s lock."""
    return (
        f"{build}: another wmx run (render, diff or deploy) of this site is using it; "
        "run this again when it is done"
    )


def build_locked(build: Path) -> contextlib.AbstractContextManager[None]:
    """build/'s lock, refusing at once (build_busy) while another run holds it. A workflow
    holds it from its render through whatever reads the tree (diff, the Ansible run and
    the record after it): write_build and run_deploy take it again inside (re-entrant),
    and a render started meanwhile refuses instead of replacing the tree under it."""
    return locked(build, busy=build_busy(build))


def write_build(site: Site, rendered: SitePlan | dict[str, list[RenderedFile]]) -> Path:
    """Replace build/ as a whole, so files of a removed component don't linger.

    `rendered` is the site's plan (wmx.render.plan_site), or the files of render_site,
    whose vars.json is then computed here. Each host gets its files, and in .wmx/ the
    manifest (manifest.json) and the role vars (vars.json) that `wmx diff` compares.
    The tree is private (0700/0600): some files carry secrets and the deploy copies
    modes from the manifest, not from here.

    The new tree is written beside build/ and swapped in: a write that fails (a full
    disk) removes it and leaves build/ as it was; a disk's refusal is a WriteRefused.
    """
    build = site.paths.build
    with build_locked(build):
        staging = build.with_name(".build.tmp")
        _remove(staging)
        try:
            staging.mkdir(mode=0o700)
        except OSError as exc:  # what is there could not be removed
            raise WriteRefused(staging, exc) from None
        try:
            _write_tree(site, rendered, staging)
        except BaseException as exc:
            _remove(staging)
            if isinstance(exc, OSError) and exc.errno in DISK_REFUSED:
                raise WriteRefused(build, exc, kept=True) from None
            raise
        _swap_in(staging, build)
    return build


def _swap_in(staging: Path, build: Path) -> None:
    """Put the new tree `staging` in build/'s place, the old one moved aside first. One
    that cannot be moved aside (immutable, or a `.build.old` left that cannot be removed)
    is a WriteRefused with build/ as it was, and the new tree (its secrets) removed."""
    old = build.with_name(".build.old")
    _remove(old)
    try:
        if build.exists():
            build.rename(old)
    except OSError as exc:
        _remove(staging)
        raise WriteRefused(build, exc, kept=True) from None
    try:
        staging.rename(build)
    except BaseException as exc:
        if old.exists() and not build.exists():
            old.rename(build)
        _remove(staging)
        if isinstance(exc, OSError):
            raise WriteRefused(build, exc, kept=build.exists()) from None
        raise
    _remove(old)


def _remove(path: Path) -> None:
    """Remove what a run left at `path` (.build.tmp, .build.old): wmx's directory, or
    whatever else is found there (a file, a symbolic link: removed, never followed)."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        with contextlib.suppress(OSError):
            path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _write_tree(
    site: Site, rendered: SitePlan | dict[str, list[RenderedFile]], staging: Path
) -> None:
    if isinstance(rendered, SitePlan):
        hosts = {name: (list(p.files), p.vars_json) for name, p in rendered.hosts.items()}
    else:
        views = site_views(site)
        by_name = {h.name: h for h in site.topology.hosts}
        hosts = {
            name: (files, vars_text(host_role_vars(views, by_name[name])))
            for name, files in rendered.items()
        }
    for host_name, (files, variables) in hosts.items():
        host_dir = _confined(staging / host_name, staging)
        for item in files:
            _write_private(_confined(host_dir / item.src, host_dir), item.content, staging)
        manifest = [f.manifest_entry() for f in files]
        _write_private(
            host_dir / STATE_DIR / "manifest.json", json.dumps(manifest, indent=2) + "\n", staging
        )
        _write_private(host_dir / STATE_DIR / "vars.json", variables, staging)


@dataclass(frozen=True)
class FileChange:
    host: str
    dest: str
    kind: str  # added, removed, changed
    diff: str  # empty for secret files: only the fact of the change is shown


@dataclass(frozen=True)
class Record:
    """A tree of hosts' files (the last deploy's, a build), read whole: each host's
    manifest and the lines of every file it names, and its vars.json's."""

    manifests: Mapping[str, Mapping[str, Mapping[str, object]]]
    lines: Mapping[tuple[str, str], list[str]]  # (host, src) -> lines
    vars_lines: Mapping[str, list[str]]


def read_record(root: Path, hosts: Collection[str]) -> Record:
    """`root`'s tree of `hosts`, every byte `wmx diff` compares read now: a record wmx
    refuses (a link out, a damaged manifest, a file it names missing) is refused before
    a command writes anything (build/), not after. The last deploy's record is
    hand-editable: each read is read_state's (no link, bounded, confined)."""
    manifests: dict[str, Mapping[str, Mapping[str, object]]] = {}
    lines: dict[tuple[str, str], list[str]] = {}
    vars_lines: dict[str, list[str]] = {}
    for host in hosts:
        manifests[host] = read_manifest(root / host)
        for src in manifests[host]:
            lines[host, src] = kept_lines(root / host, src)
        vars_lines[host] = kept_lines(root / host, VARS_FILE, missing_ok=True)
    return Record(manifests, lines, vars_lines)


VARS_FILE = f"{STATE_DIR}/vars.json"


def diff_trees(old: Path | Record, new: Path | Record, hosts: list[str]) -> list[FileChange]:
    """The files that differ between two trees (a root, or its record read before)."""
    old = old if isinstance(old, Record) else read_record(old, hosts)
    new = new if isinstance(new, Record) else read_record(new, hosts)
    changes: list[FileChange] = []
    for host in hosts:
        before_all, after_all = old.manifests[host], new.manifests[host]
        for src in sorted(before_all.keys() | after_all.keys()):
            before, after = before_all.get(src), after_all.get(src)
            if before and after and before == after:
                continue
            kind = "added" if before is None else "removed" if after is None else "changed"
            secret = bool((after or before or {}).get("secret"))
            text = ""
            if not secret:
                a = old.lines[host, src] if before else []
                b = new.lines[host, src] if after else []
                text = "".join(
                    difflib.unified_diff(a, b, f"deployed/{host}/{src}", f"build/{host}/{src}")
                )
            changes.append(FileChange(host=host, dest="/" + src, kind=kind, diff=text))
    return changes


@dataclass(frozen=True)
class KeptRoles:
    """What a host's deploy record keeps from the last one: the roles a run left out
    (`wmx deploy --only`), which are on the host as that deploy put them."""

    roles: Collection[str]  # their files and manifest entries are the old record's
    vars_json: str  # the record's vars.json: the build's, those roles' vars as they were


def record_deployed(
    site: Site, hosts: list[str], kept: Mapping[str, KeptRoles] | None = None
) -> None:
    """After a successful deploy: build/<host> becomes the baseline of `wmx diff`, but
    for what `kept` says a host's run left out, whose last record stays."""
    for host in hosts:
        keep = (kept or {}).get(host)
        # Whole or not at all; the converged record (wmx.ops.deploy_plan) is rewritten next.
        replace_tree(
            site.paths.build / host,
            site.paths.deployed / host,
            carry=[f"{STATE_DIR}/converged.json"],
            prepare=None if keep is None else functools.partial(_keep_roles, keep=keep),
        )
    record_deployment(site.paths, site.config.server_name)


def _drop(path: Path, root: Path) -> None:
    """Remove a file of a build's copy, and the directories it leaves empty."""
    path.unlink(missing_ok=True)
    for parent in path.parents:
        if parent == root or not parent.is_relative_to(root):
            break
        try:
            parent.rmdir()
        except OSError:  # not empty
            break


def _keep_roles(new: Path, old: Path, keep: KeptRoles) -> None:
    """Make the copy `new` of a host's build say, for the roles in `keep`, what the last
    record `old` said: their files and manifest entries (none when it had none), and
    `keep.vars_json`. A file the build has and the record had not is dropped."""
    roles = set(keep.roles)
    built = read_manifest(new)
    recorded = read_manifest(old) if old.is_dir() else {}
    entries = [e for e in built.values() if str(e.get("component")) not in roles]
    for src, entry in built.items():
        if str(entry.get("component")) in roles:
            _drop(confined_file(new, src), new)
    taken = {str(e["src"]) for e in entries}
    for src, entry in recorded.items():
        if str(entry.get("component")) not in roles or src in taken:
            continue
        data = read_state(confined_file(old, src), old.parent)
        if data is None:
            continue  # gone from the record: not recorded as deployed
        _write_private(_confined(confined_file(new, src), new), data, new)
        entries.append(entry)
    _write_private(new / STATE_DIR / "manifest.json", json.dumps(entries, indent=2) + "\n", new)
    _write_private(new / STATE_DIR / "vars.json", keep.vars_json, new)
