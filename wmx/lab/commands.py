"""Running the machine's tools (ip, nft, ssh-keygen, ...) with argument lists."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from wmx.lab.errors import LabError

# Tools the lab drives, and the Debian package that ships each, for a useful error.
REQUIRED_TOOLS: Mapping[str, str] = {
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "nft": "nftables",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "chroot": "coreutils",
    "pebble": "pebble",
    "pebble-challtestsrv": "pebble",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}

# Commands we run must not inherit a caller's odd locale or PATH (the venv's bin first).
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class CommandError(LabError):
    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output
        detail = _last_line(output)
        shown = " ".join(self.argv[:4]) + (" …" if len(self.argv) > 4 else "")
        message = f"`{shown}` failed with exit status {returncode}"
        super().__init__(f"{message}: {detail}" if detail else message)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": "/root"}
    if "TERM" in os.environ:
        env["TERM"] = os.environ["TERM"]
    if extra:
        env.update(extra)
    return env


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input_text: str | None = None,
    timeout: float | None = 120,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` capturing output; raise CommandError on failure when ``check``."""
    try:
        proc = subprocess.run(
            list(argv),
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else clean_env(),
            check=False,
        )
    except FileNotFoundError as error:
        raise LabError(f"{argv[0]} is not installed") from error
    except subprocess.TimeoutExpired as error:
        raise LabError(f"`{' '.join(argv[:4])}` did not finish within {timeout:.0f} s") from error
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stderr or proc.stdout)
    return proc


def missing_tools() -> list[str]:
    """Tools from REQUIRED_TOOLS that are not on the (clean) PATH, as 'tool (package)'."""
    return [
        f"{tool} ({package})"
        for tool, package in REQUIRED_TOOLS.items()
        if shutil.which(tool, path=CLEAN_PATH) is None
    ]


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
