"""Where runs are kept: one private data directory per run, the last few kept.

Layout of one run (``<runs_dir>/<UTC timestamp>-<6 hex>/``, mode 0700)::

    env/extravars        the run's extra vars (YAML, 0600), passed as ``-e @file``
    hostvars/<host>.yml  per-host variables (0600), which the playbook loads itself
    env/envvars, env/settings, env/cmdline    written by ansible-runner, no secrets
    artifacts/<run id>/
        command          argv, cwd and (after wmx trims it) wmx's own env settings
        job_events/      one JSON file per event, ``stdout`` already scrubbed
        stdout           the run's text, scrubbed the same way (written by wmx)
        rc, status       ansible-playbook's exit code and ansible-runner's verdict

Run ids sort by time, so pruning keeps the newest by name.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from wmx.errors import InputError
from wmx.run.unsafe import unsafe_yaml

KEEP_RUNS = 20
_RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


def new_run_id(now: datetime | None = None) -> str:
    """``20250102T030405Z-1a2b3c``: sortable by time, unique enough for one site."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and bool(_RUN_ID.match(path.name))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it 0700 whatever the umask said. A symbolic
    link there (``.wmx/runs -> /etc``, made by hand) is refused: its target would be made
    0700 and the runs, which hold the hosts' variables, written there."""
    if path.is_symlink():
        raise InputError(f"{path}: a symbolic link; wmx keeps its runs in a directory there")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def prune_runs(runs_dir: Path, *, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest run directories; return what was deleted.

    Only directories named like a run id are touched, so anything else an operator
    keeps in ``runs_dir`` survives. ansible-runner's own ``rotate_artifacts`` only
    rotates inside one private data dir, and wmx uses a fresh one per run.
    """
    if not runs_dir.is_dir():
        return []
    runs = sorted((path for path in runs_dir.iterdir() if is_run_dir(path)), key=lambda p: p.name)
    doomed = runs[: max(len(runs) - keep, 0)]
    for path in doomed:
        shutil.rmtree(path)
    return doomed


def create_run_dir(runs_dir: Path, *, keep: int = KEEP_RUNS) -> Path:
    """A new, empty, 0700 run directory; older runs beyond ``keep`` are pruned first."""
    ensure_private_dir(runs_dir)
    prune_runs(runs_dir, keep=max(keep - 1, 0))
    while True:
        run_dir = runs_dir / new_run_id()
        try:
            run_dir.mkdir(mode=0o700)
        except FileExistsError:
            continue
        run_dir.chmod(0o700)
        return run_dir


def write_private_file(path: Path, text: str) -> Path:
    """Write a new file readable by its owner only (0600 from the first byte)."""
    ensure_private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def encode_extravars(extravars: Mapping[str, object]) -> str:
    """The YAML Ansible will read, every string in it unsafe (:mod:`wmx.run.unsafe`);
    fails (TypeError) before any run dir is made."""
    return unsafe_yaml(dict(sorted(extravars.items())))


def write_extravars(run_dir: Path, encoded: str) -> Path:
    """Put the run's extra vars where ansible-runner passes them as ``-e @file``.

    A file, not ``-e '{…}'``: argv is visible to every local user in ``ps``.
    """
    return write_private_file(run_dir / "env" / "extravars", encoded)


_HOST_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def encode_host_vars(host_vars: Mapping[str, Mapping[str, object]]) -> dict[str, str]:
    """Each host's variables as unsafe YAML; the host name must make a plain file name."""
    encoded: dict[str, str] = {}
    for host, variables in host_vars.items():
        if not _HOST_FILE_NAME.fullmatch(host) or host.endswith("."):
            raise TypeError(f"host name {host!r} cannot name a file of host variables")
        encoded[host] = unsafe_yaml(variables)
    return encoded


def write_host_vars(run_dir: Path, encoded: Mapping[str, str]) -> Path:
    """Write ``hostvars/<host>.yml`` for each host; return the directory."""
    directory = ensure_private_dir(run_dir / "hostvars")
    for host, text in encoded.items():
        write_private_file(directory / f"{host}.yml", text)
    return directory


def trim_command_record(artifact_dir: Path, kept_env: Mapping[str, str]) -> None:
    """Drop the inherited environment from ansible-runner's ``command`` artifact.

    ansible-runner records the whole environment of the run (a copy of wmx's own
    ``os.environ`` plus its settings) in ``artifacts/<id>/command``; an operator's
    shell may hold tokens. Only the variables wmx set are kept.
    """
    record_path = artifact_dir / "command"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    record["env"] = dict(sorted(kept_env.items()))
    record["env_note"] = "inherited environment variables omitted by wmx"
    temporary = record_path.with_name("command.wmx-tmp")
    temporary.unlink(missing_ok=True)
    write_private_file(temporary, json.dumps(record, ensure_ascii=False))
    os.replace(temporary, record_path)


def write_transcript(artifact_dir: Path, chunks: Iterable[str]) -> Path:
    """Write the run's scrubbed text as ``artifacts/<id>/stdout``.

    ansible-runner's own copy is switched off (``suppress_output_file``) because it
    is Ansible's raw text, which can quote what ``no_log`` hid.
    """
    path = artifact_dir / "stdout"
    path.unlink(missing_ok=True)
    text = "\n".join(chunk for chunk in chunks if chunk)
    return write_private_file(path, text + "\n" if text else "")
