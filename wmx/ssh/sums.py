"""The SHA-256 of files on a host, read over SSH as root: one `sha256sum` for many files,
only the hashes crossing the wire (wmx deploy's drift check, wmx doctor's config-drift)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence

from wmx.site.topology import HostView
from wmx.ssh.connection import run_as_root

Runner = Callable[[HostView, list[str]], "subprocess.CompletedProcess[str]"]
MISSING = "No such file or directory"


def parse_sums(stdout: str) -> dict[str, str]:
    """`sha256sum` lines (`HASH  PATH`): path → hash."""
    sums: dict[str, str] = {}
    for line in stdout.splitlines():
        digest, sep, path = line.partition("  ")
        if sep and len(digest) == 64:
            sums[path] = digest
    return sums


class SumsUnavailable(Exception):
    """The host could not be asked: not reached, sudo refused, or sha256sum failed on
    something other than a missing file (`cause`: the error, or sha256sum's stderr)."""

    def __init__(self, cause: str, returncode: int | None = None) -> None:
        super().__init__(cause)
        self.cause, self.returncode = cause, returncode


def ask_sums(host: HostView, paths: Sequence[str], run: Runner = run_as_root) -> dict[str, str]:
    """Path → hash of each of `paths` on `host` (a file that is not there is absent);
    SumsUnavailable when the host could not be asked."""
    try:
        proc = run(host, ["sha256sum", "--", *paths])
    except (OSError, subprocess.SubprocessError) as exc:
        raise SumsUnavailable(str(exc)) from None
    # sha256sum exits 1 when a file is missing, having hashed the others.
    complaints = [line for line in proc.stderr.splitlines() if line.strip()]
    if proc.returncode == 0 or (
        proc.returncode == 1 and all(MISSING in line for line in complaints)
    ):
        return parse_sums(proc.stdout)
    raise SumsUnavailable(proc.stderr, proc.returncode)


def host_sums(
    host: HostView, paths: Sequence[str], run: Runner = run_as_root
) -> dict[str, str] | None:
    """`ask_sums`, None when the host could not be asked (a deploy leaves it to the run)."""
    try:
        return ask_sums(host, paths, run)
    except SumsUnavailable:
        return None
