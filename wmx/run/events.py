"""Turn ansible-runner's events into run state and display notes (pure logic, no I/O).

ansible-runner hands every event to an ``event_handler`` as a JSON-shaped dict:
``event`` (its type), ``stdout`` (Ansible's own text for it) and ``event_data``
(play, task, host, ``res`` …). :class:`RunTracker` keeps the counts and failures
the display and the final :class:`~wmx.run.results.RunResult` need, and returns
:class:`Note` objects saying what happened, so rendering stays in
:mod:`wmx.run.display` and this module can be tested with plain dicts.

Counting follows Ansible: a changed task also counts as ok, an ignored failure counts
as ok and ignored. The live counts are a progress indicator; the ``playbook_on_stats``
event at the end is the authority.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from wmx.errors import printable
from wmx.run.failures import failure_message, item_label
from wmx.run.no_log import StdoutScrubber, is_hidden
from wmx.run.results import CONTROLLER, HostStats, TaskFailure

Outcome = Literal["ok", "changed", "failed", "ignored", "skipped", "unreachable"]

CONTROLLER_ERROR_LINES = 8
# The changed loop items a task's line names; the rest are counted.
ITEMS_NAMED = 5
_CHANGED_TEXT = re.compile(r"^changed: \[", re.MULTILINE)


@dataclass(frozen=True)
class PlayStarted:
    name: str


@dataclass(frozen=True)
class TaskStarted:
    name: str
    handler: bool = False


@dataclass(frozen=True)
class HostOutcome:
    """A task finished on a host; ``message`` is set for failures (already safe)."""

    host: str
    task: str
    outcome: Outcome
    message: str | None = None


@dataclass(frozen=True)
class FileDiff:
    host: str
    task: str
    text: str


@dataclass(frozen=True)
class ControllerMessage:
    """A warning or error from Ansible: about the run itself, or a task's warning."""

    level: Literal["warning", "error"]
    text: str


@dataclass(frozen=True)
class AnsibleOutput:
    """Ansible's own text for an event, scrubbed (what ``--verbose`` shows)."""

    text: str


Note = PlayStarted | TaskStarted | HostOutcome | FileDiff | ControllerMessage | AnsibleOutput


@dataclass(frozen=True)
class HandledEvent:
    """What one event produced: the safe text to keep in its place, and notes to show."""

    stdout: str
    notes: list[Note]


@dataclass
class LiveCounts:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    unreachable: int = 0
    ignored: int = 0


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _stats_table(value: object) -> dict[str, int]:
    # Ansible sends {} for an empty count, and plain 0 where its stats object lacks it.
    if not isinstance(value, Mapping):
        return {}
    return {str(host): count for host, count in value.items() if isinstance(count, int)}


def stats_from_event(event_data: Mapping[str, object]) -> dict[str, HostStats]:
    """Per-host recap counts from a ``playbook_on_stats`` event's data."""
    tables = {
        key: _stats_table(event_data.get(key))
        for key in (
            "ok",
            "changed",
            "failures",
            "dark",
            "skipped",
            "rescued",
            "ignored",
            "processed",
        )
    }
    hosts = sorted({host for table in tables.values() for host in table})
    return {
        host: HostStats(
            ok=tables["ok"].get(host, 0),
            changed=tables["changed"].get(host, 0),
            failed=tables["failures"].get(host, 0),
            unreachable=tables["dark"].get(host, 0),
            skipped=tables["skipped"].get(host, 0),
            rescued=tables["rescued"].get(host, 0),
            ignored=tables["ignored"].get(host, 0),
        )
        for host in hosts
    }


@dataclass
class _Problem:
    order: int
    failure: TaskFailure


@dataclass
class RunTracker:
    """The state of one playbook run, advanced one event at a time.

    ``secret_paths`` are the run's secret files: error text that quotes their lines
    is dropped (see :mod:`wmx.run.no_log`).
    """

    secret_paths: Iterable[Path] = ()
    play: str | None = None
    task: str | None = None
    live: dict[str, LiveCounts] = field(default_factory=dict)
    final_stats: dict[str, HostStats] | None = None
    changed_tasks: list[tuple[str, str]] = field(default_factory=list)
    _scrubber: StdoutScrubber = field(init=False)
    _problems: dict[str, list[_Problem]] = field(init=False, default_factory=dict)
    _problem_count: int = field(init=False, default=0)
    # per (host, task), the labels of the loop items that changed (a hidden item counts,
    # unnamed): the task's line then names them ("changed  h  Start units: redis")
    _changed_items: dict[tuple[str, str], list[str]] = field(init=False, default_factory=dict)
    _controller_errors: list[str] = field(init=False, default_factory=list)
    _in_controller_error: bool = field(init=False, default=False)
    _warnings_seen: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._scrubber = StdoutScrubber(self.secret_paths)

    # -- feeding events -------------------------------------------------------------

    def handle(self, event: Mapping[str, object]) -> HandledEvent:
        """Advance the state by one ansible-runner event."""
        stdout = self._scrubber.scrub(event)
        name = _text(event.get("event"))
        data = event.get("event_data")
        event_data: Mapping[str, object] = data if isinstance(data, Mapping) else {}
        notes: list[Note] = []
        if stdout.strip():
            notes.append(AnsibleOutput(stdout))

        if name in ("verbose", "error", "warning"):
            notes.extend(self._controller_output(stdout))
            return HandledEvent(stdout, notes)
        self._in_controller_error = False
        notes.extend(self._task_warnings(stdout))

        if name == "playbook_on_play_start":
            self.play = _text(event_data.get("name")) or _text(event_data.get("play"))
            self.task = None
            notes.append(PlayStarted(self.play))
        elif name == "playbook_on_task_start":
            self.task = self._task_label(event_data)
            notes.append(TaskStarted(self.task, handler=bool(event_data.get("is_conditional"))))
        elif name in ("runner_on_ok", "runner_on_async_ok"):
            notes.append(self._on_ok(event_data, stdout))
        elif name == "runner_item_on_ok":
            self._on_item_ok(event_data, stdout)
        elif name in ("runner_on_failed", "runner_on_async_failed"):
            notes.append(self._on_failed(event_data))
        elif name == "runner_on_unreachable":
            notes.append(self._on_unreachable(event_data))
        elif name == "runner_on_skipped":
            host = self._host(event_data)
            self._counts(host).skipped += 1
            notes.append(HostOutcome(host, self._task_label(event_data), "skipped"))
        elif name == "runner_on_file_diff":
            if stdout.strip():
                notes.append(FileDiff(self._host(event_data), self._task_label(event_data), stdout))
        elif name == "playbook_on_no_hosts_matched":
            notes.append(ControllerMessage("warning", "no hosts matched this play"))
        elif name == "playbook_on_no_hosts_remaining":
            notes.append(ControllerMessage("error", "no hosts remaining: every host failed"))
        elif name == "playbook_on_stats":
            self.final_stats = stats_from_event(event_data)
        return HandledEvent(stdout, notes)

    # -- results ----------------------------------------------------------------------

    def host_stats(self) -> dict[str, HostStats]:
        """The recap: Ansible's final stats, or the live counts if the run never got there."""
        if self.final_stats is not None:
            return dict(self.final_stats)
        return {
            host: HostStats(
                ok=counts.ok,
                changed=counts.changed,
                failed=counts.failed,
                unreachable=counts.unreachable,
                skipped=counts.skipped,
                ignored=counts.ignored,
            )
            for host, counts in sorted(self.live.items())
        }

    def changed_total(self) -> int:
        return sum(stats.changed for stats in self.host_stats().values())

    def failures(self, rc: int, status: str) -> list[TaskFailure]:
        """The failures that decided the run, oldest first.

        A failure event does not say whether a ``rescue`` will catch it; the final
        stats do (``failures`` excludes rescued ones). A failed host stops running
        tasks, so its deciding failures are its last ones: keep the last
        ``failures + unreachable`` per host. Without final stats keep them all.
        """
        kept: list[_Problem] = []
        for host, problems in self._problems.items():
            if self.final_stats is None:
                kept.extend(problems)
                continue
            stats = self.final_stats.get(host, HostStats())
            deciding = stats.failed + stats.unreachable
            if deciding:
                kept.extend(problems[-deciding:])
        failures = [problem.failure for problem in sorted(kept, key=lambda p: p.order)]
        if rc != 0 and not failures:
            failures.append(self._controller_failure(rc, status))
        return failures

    # -- event kinds ------------------------------------------------------------------

    @staticmethod
    def _host(event_data: Mapping[str, object]) -> str:
        return _text(event_data.get("host")) or "?"

    def _task_label(self, event_data: Mapping[str, object]) -> str:
        task = _text(event_data.get("task")) or _text(event_data.get("name")) or self.task or "?"
        role = _text(event_data.get("role"))
        return f"{role} : {task}" if role and not task.startswith(f"{role} : ") else task

    def _counts(self, host: str) -> LiveCounts:
        return self.live.setdefault(host, LiveCounts())

    def _on_ok(self, event_data: Mapping[str, object], stdout: str) -> HostOutcome:
        host = self._host(event_data)
        task = self._task_label(event_data)
        res = event_data.get("res")
        task_key = (host, _text(event_data.get("task_uuid")))
        if is_hidden(res):
            # A hidden result no longer says "changed"; Ansible's status word (kept by
            # the scrubber) or a changed loop item does.
            changed = bool(_CHANGED_TEXT.search(stdout)) or task_key in self._changed_items
        else:
            changed = isinstance(res, Mapping) and res.get("changed") is True
        items = self._changed_items.pop(task_key, [])
        counts = self._counts(host)
        counts.ok += 1
        if changed:
            counts.changed += 1
            self.changed_tasks.append((host, task))
        more = f" and {len(items) - ITEMS_NAMED} more" if len(items) > ITEMS_NAMED else ""
        message = printable(", ".join(items[:ITEMS_NAMED]) + more) if changed and items else None
        return HostOutcome(host, task, "changed" if changed else "ok", message)

    def _on_item_ok(self, event_data: Mapping[str, object], stdout: str) -> None:
        res = event_data.get("res")
        if is_hidden(res):
            changed = bool(_CHANGED_TEXT.search(stdout))
        else:
            changed = isinstance(res, Mapping) and res.get("changed") is True
        if changed:
            key = (self._host(event_data), _text(event_data.get("task_uuid")))
            items = self._changed_items.setdefault(key, [])
            if isinstance(res, Mapping) and not is_hidden(res):
                items.append(item_label(res))

    def _on_failed(self, event_data: Mapping[str, object]) -> HostOutcome:
        host = self._host(event_data)
        task = self._task_label(event_data)
        message = failure_message(event_data.get("res"))
        self._changed_items.pop((host, _text(event_data.get("task_uuid"))), None)
        counts = self._counts(host)
        if event_data.get("ignore_errors"):
            counts.ok += 1
            counts.ignored += 1
            return HostOutcome(host, task, "ignored", message)
        counts.failed += 1
        self._add_problem(TaskFailure(host=host, task=task, message=message))
        return HostOutcome(host, task, "failed", message)

    def _on_unreachable(self, event_data: Mapping[str, object]) -> HostOutcome:
        host = self._host(event_data)
        task = self._task_label(event_data)
        message = failure_message(event_data.get("res"))
        self._counts(host).unreachable += 1
        self._add_problem(TaskFailure(host=host, task=task, message=message, unreachable=True))
        return HostOutcome(host, task, "unreachable", message)

    def _add_problem(self, failure: TaskFailure) -> None:
        self._problem_count += 1
        problem = _Problem(order=self._problem_count, failure=failure)
        self._problems.setdefault(failure.host, []).append(problem)

    def _controller_output(self, stdout: str) -> list[Note]:
        """Collect ansible-playbook's own warnings and errors (outside any task).

        An ``[ERROR]`` line starts a block; the lines after it (``Origin: …`` and the
        source context) explain it until the next ``[…]`` line.
        """
        notes: list[Note] = []
        for line in stdout.split("\n"):
            if line.startswith("[ERROR]"):
                text = line.removeprefix("[ERROR]:").strip()
                self._controller_errors = [text]
                self._in_controller_error = True
                notes.append(ControllerMessage("error", text))
            elif line.startswith("[WARNING]"):
                self._in_controller_error = False
                notes.append(ControllerMessage("warning", line.removeprefix("[WARNING]:").strip()))
            elif line.startswith("["):
                self._in_controller_error = False
            elif (
                self._in_controller_error
                and line.strip()
                and len(self._controller_errors) < CONTROLLER_ERROR_LINES
            ):
                self._controller_errors.append(line.rstrip())
        return notes

    def _task_warnings(self, stdout: str) -> list[Note]:
        # Warnings a task result carries (interpreter discovery, a module's advice)
        # are printed inside that result's text; each distinct one is shown once.
        notes: list[Note] = []
        for line in stdout.split("\n"):
            if line.startswith("[WARNING]:"):
                text = line.removeprefix("[WARNING]:").strip()
                if text not in self._warnings_seen:
                    self._warnings_seen.add(text)
                    notes.append(ControllerMessage("warning", text))
        return notes

    def _controller_failure(self, rc: int, status: str) -> TaskFailure:
        if status == "canceled":
            message = "the run was interrupted before it finished"
        elif status == "timeout":
            message = "the run timed out"
        elif self._controller_errors:
            message = "\n".join(self._controller_errors)
        else:
            message = f"ansible-playbook exited with status {rc} without naming a failed task"
        return TaskFailure(host=CONTROLLER, task="ansible-playbook", message=message)
