"""Running borg, reading its errors from its JSON log lines, and naming archives."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .config import Config, Failure, borg_env

# What a borg run's stdout goes to: a pipe read into text, DEVNULL, None (ours) or a file.
Stdout = int | IO[bytes] | None
Progress = Callable[[dict[str, Any]], None]


def one_line(message: str) -> str:
    """borg's message in one line: for a traceback, the exception's own message."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if any(line.startswith("Traceback") for line in lines):
        for line in lines:
            name, sep, text = line.partition(": ")
            if (
                sep
                and name.replace(".", "").replace("_", "").isalnum()
                and name.endswith(("Error", "Exception"))
            ):
                return text
    return lines[0] if lines else ""


def borg_error(stderr: str, levels: tuple[str, ...] = ("ERROR", "CRITICAL")) -> str:
    """borg's own error message (its --log-json lines), never anything else of ours."""
    messages: list[str] = []
    plain: list[str] = []
    for line in stderr.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if line.strip() and not line.startswith((" ", "\t", "Traceback")):
                plain.append(line.strip())  # ssh's own complaints, for example
            continue
        if isinstance(entry, dict) and entry.get("levelname") in levels:
            messages.append(one_line(str(entry.get("message", ""))))
    text = "; ".join(dict.fromkeys(m for m in messages + plain[-2:] if m))
    return (text or "borg failed")[:600]


def borg_msgids(stderr: str) -> set[str]:
    ids: set[str] = set()
    for line in stderr.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("msgid"):
                ids.add(str(entry["msgid"]))
    return ids


def borg(
    args: list[str],
    *,
    check: bool = True,
    stdout: Stdout = subprocess.PIPE,
    cwd: Path | None = None,
    progress: Progress | None = None,
) -> tuple[int, str, str]:
    """Run borg with --log-json; return (rc, stdout text, stderr text).

    rc 1 is borg's "warning" (e.g. a file vanished while reading): not a failure.
    """
    argv = ["borg", "--log-json", *args]
    piped = stdout == subprocess.PIPE
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=piped,
        env=borg_env(),
        cwd=cwd,
    )
    err_lines: list[str] = []
    assert proc.stderr is not None
    for raw in proc.stderr:
        line = raw if isinstance(raw, str) else raw.decode(errors="replace")
        if progress is not None:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and entry.get("type") == "archive_progress":
                    progress(entry)
                    continue
        err_lines.append(line)
    out = str(proc.stdout.read()) if proc.stdout is not None and piped else ""
    rc = proc.wait()
    stderr = "".join(err_lines)
    if check and rc not in (0, 1):
        raise Failure(borg_error(stderr))
    return rc, out, stderr


def repository(config: Config, label: str | None) -> dict[str, Any]:
    repos: list[dict[str, Any]] = config["repositories"]
    if label is None:
        return repos[0]
    for repo in repos:
        if repo["label"] == label:
            return repo
    known = ", ".join(r["label"] for r in repos)
    raise Failure(f"no repository {label!r} on this host; known: {known}")


def archive_names(config: Config, repo: dict[str, Any]) -> list[str]:
    """The site's archives in `repo`, oldest first."""
    _, out, _ = borg(
        ["list", "--json", "--glob-archives", f"{config['archive_prefix']}*", repo["url"]]
    )
    return [str(a["name"]) for a in json.loads(out)["archives"]]


def archive_ref(config: Config, label: str | None, archive: str) -> str:
    """repo::archive for `archive` (or the newest, for "latest"), which must exist."""
    repo = repository(config, label)
    names = archive_names(config, repo)
    if not names:
        raise Failure(f"repository {repo['label']} holds no archive")
    if archive == "latest":
        archive = names[-1]
    elif archive not in names:
        raise Failure(f"repository {repo['label']} holds no archive {archive!r}")
    return f"{repo['url']}::{archive}"
