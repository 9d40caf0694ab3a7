"""What a playbook run produced, as plain data a caller can present or test.

Nothing here holds a task's raw result: failure messages are already trimmed and
stripped of anything a ``no_log`` task produced, so a ``RunResult`` is safe to print
or serialise (``--output json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class HostStats:
    """Ansible's recap counts for one host (``ok`` includes ``changed``, as in Ansible)."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class TaskFailure:
    """One task that failed (or one host that could not be reached), ready to show.

    ``host`` is ``CONTROLLER`` when ansible-playbook itself failed before or outside
    any task (a YAML error, a ``--limit`` that matches no host, …).
    """

    host: str
    task: str
    message: str
    unreachable: bool = False


CONTROLLER = "(controller)"


@dataclass(frozen=True)
class RunResult:
    """The outcome of :func:`wmx.run.run_playbook`.

    ``changed_total`` is Ansible's own count (it also counts ignored failures that
    reported a change); ``changed_tasks`` lists the ``(host, task)`` pairs that
    succeeded with a change, in the order they ran, so a caller can say what changed.
    """

    ok: bool
    rc: int
    status: str
    stats: dict[str, HostStats]
    changed_total: int
    failures: list[TaskFailure]
    changed_tasks: list[tuple[str, str]]
    artifact_dir: Path
    run_dir: Path
    check: bool = False


@dataclass(frozen=True)
class SyntaxCheck:
    """The outcome of :func:`wmx.run.check_syntax`; ``output`` is Ansible's own text."""

    ok: bool
    rc: int
    output: str = field(default="")
