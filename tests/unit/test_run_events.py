"""RunTracker fed with events shaped like ansible-runner 2.4's (recorded from ansible-core 2.19).

Every event carries ``event``, ``stdout`` (Ansible's text, as a pty delivers it) and
``event_data``; results hidden by ``no_log`` arrive as ``{"censored": …}``.
"""

from __future__ import annotations

from typing import Any

from wmx.run.events import (
    AnsibleOutput,
    ControllerMessage,
    FileDiff,
    HostOutcome,
    PlayStarted,
    RunTracker,
    TaskStarted,
)
from wmx.run.failures import failure_message
from wmx.run.results import CONTROLLER, HostStats, TaskFailure

CENSORED = {
    "censored": "the output has been hidden due to the fact that 'no_log: true' "
    "was specified for this result"
}
SECRET = "hunter2-secret"

Event = dict[str, Any]


def event(kind: str, stdout: str = "", /, **event_data: Any) -> Event:
    return {
        "uuid": "00000000-0000-0000-0000-000000000000",
        "counter": 1,
        "stdout": stdout,
        "start_line": 0,
        "end_line": 0,
        "runner_ident": "20250101T000000Z-abcdef",
        "event": kind,
        "pid": 1,
        "created": "2025-01-01T00:00:00+00:00",
        "event_data": {"playbook": "site.yml", "play": "Deploy", **event_data},
    }


def play_start(name: str = "Deploy") -> Event:
    return event("playbook_on_play_start", f"\r\nPLAY [{name}] ****", name=name, play=name)


def task_start(task: str, uuid: str = "task-1", **extra: Any) -> Event:
    return event(
        "playbook_on_task_start",
        f"\r\nTASK [{task}] ****",
        task=task,
        name=task,
        task_uuid=uuid,
        **{"is_conditional": False, **extra},
    )


def ok(host: str, task: str, res: dict[str, Any], stdout: str = "", uuid: str = "task-1") -> Event:
    status = "changed" if res.get("changed") else "ok"
    return event(
        "runner_on_ok",
        stdout or f"\x1b[0;33m{status}: [{host}]\x1b[0m",
        host=host,
        task=task,
        task_uuid=uuid,
        res=res,
    )


def failed(
    host: str,
    task: str,
    res: dict[str, Any],
    *,
    stdout: str = "",
    ignore_errors: bool | None = None,
    uuid: str = "task-1",
) -> Event:
    return event(
        "runner_on_failed",
        stdout or f"fatal: [{host}]: FAILED! => {{}}",
        host=host,
        task=task,
        task_uuid=uuid,
        res=res,
        ignore_errors=ignore_errors,
    )


def stats(**tables: dict[str, int]) -> Event:
    data: dict[str, Any] = {
        key: {}
        for key in (
            "changed",
            "dark",
            "failures",
            "ignored",
            "ok",
            "processed",
            "rescued",
            "skipped",
        )
    }
    data.update(tables)
    return event("playbook_on_stats", "\r\nPLAY RECAP ****", **data)


def feed(tracker: RunTracker, *events: Event) -> list[Any]:
    notes: list[Any] = []
    for item in events:
        notes.extend(tracker.handle(item).notes)
    return notes


# -- counting ---------------------------------------------------------------------------


def test_counts_per_host_as_ansible_does() -> None:
    tracker = RunTracker()

    feed(
        tracker,
        play_start(),
        task_start("Install packages"),
        ok("hs1", "Install packages", {"changed": True}),
        ok("db1", "Install packages", {"changed": False}),
        event("runner_on_skipped", "skipping: [db1]", host="db1", task="Optional", res={}),
        failed("db1", "Probe", {"msg": "no"}, ignore_errors=True),
        event(
            "runner_on_unreachable",
            "fatal: [web1]: UNREACHABLE!",
            host="web1",
            task="Install packages",
            res={"unreachable": True, "msg": "Failed to connect to the host via ssh"},
        ),
    )

    assert tracker.play == "Deploy"
    assert tracker.task == "Install packages"
    hs1, db1, web1 = tracker.live["hs1"], tracker.live["db1"], tracker.live["web1"]
    assert (hs1.ok, hs1.changed) == (1, 1)
    assert (db1.ok, db1.changed, db1.skipped, db1.ignored, db1.failed) == (2, 0, 1, 1, 0)
    assert web1.unreachable == 1
    assert tracker.changed_tasks == [("hs1", "Install packages")]


def test_final_stats_are_the_recap() -> None:
    tracker = RunTracker()

    feed(
        tracker,
        ok("hs1", "Install", {"changed": True}),
        stats(
            ok={"hs1": 7, "db1": 3},
            changed={"hs1": 4},
            failures={"db1": 1},
            dark={},
            skipped={"hs1": 2},
            rescued={"hs1": 1},
            ignored={"hs1": 5},
            processed={"hs1": 1, "db1": 1},
        ),
    )

    assert tracker.host_stats() == {
        "db1": HostStats(ok=3, failed=1),
        "hs1": HostStats(ok=7, changed=4, skipped=2, rescued=1, ignored=5),
    }
    assert tracker.changed_total() == 4


def test_stats_tolerate_plain_zero_for_a_missing_table() -> None:
    # The callback sends 0 instead of {} when Ansible's stats object lacks a counter.
    tracker = RunTracker()
    feed(tracker, stats(ok={"hs1": 1}, processed={"hs1": 1}, ignored=0, rescued=0))  # type: ignore[arg-type]
    assert tracker.host_stats() == {"hs1": HostStats(ok=1)}


def test_without_final_stats_the_live_counts_are_the_recap() -> None:
    tracker = RunTracker()
    feed(tracker, ok("hs1", "Install", {"changed": True}))
    assert tracker.host_stats() == {"hs1": HostStats(ok=1, changed=1)}
    assert tracker.changed_total() == 1


def test_loop_changes_are_counted_once_per_task() -> None:
    tracker = RunTracker()

    feed(
        tracker,
        task_start("Create users"),
        event(
            "runner_item_on_ok",
            "changed: [hs1] => (item=a)",
            host="hs1",
            task="Create users",
            task_uuid="task-1",
            res={"changed": True, "item": "a"},
        ),
        event(
            "runner_item_on_ok",
            "ok: [hs1] => (item=b)",
            host="hs1",
            task="Create users",
            task_uuid="task-1",
            res={"changed": False, "item": "b"},
        ),
        ok("hs1", "Create users", {"changed": True, "results": [{}, {}]}, stdout=" "),
    )

    assert tracker.live["hs1"].ok == 1
    assert tracker.live["hs1"].changed == 1
    assert tracker.changed_tasks == [("hs1", "Create users")]


def test_role_name_prefixes_the_task() -> None:
    tracker = RunTracker()
    notes = feed(tracker, task_start("Install Synapse", role="synapse"))
    assert TaskStarted("synapse : Install Synapse") in notes


def test_notes_describe_what_happened() -> None:
    tracker = RunTracker()

    notes = feed(
        tracker,
        play_start("Converge"),
        task_start("Restart synapse", is_conditional=True),
        ok("hs1", "Restart synapse", {"changed": True}),
        event(
            "runner_on_file_diff",
            "--- before\r\n+++ after\r\n@@ -1 +1 @@\r\n-a\r\n+b",
            host="hs1",
            task="Write config",
            diff=[{}],
        ),
        event("playbook_on_no_hosts_matched", "skipping: no hosts matched"),
    )

    assert PlayStarted("Converge") in notes
    assert TaskStarted("Restart synapse", handler=True) in notes
    assert HostOutcome("hs1", "Restart synapse", "changed") in notes
    assert FileDiff("hs1", "Write config", "--- before\n+++ after\n@@ -1 +1 @@\n-a\n+b") in notes
    assert ControllerMessage("warning", "no hosts matched this play") in notes


def test_ansible_text_is_uncoloured_for_display_and_keeping() -> None:
    tracker = RunTracker()
    handled = tracker.handle(ok("hs1", "Install", {"changed": True}))
    assert handled.stdout == "changed: [hs1]"
    assert AnsibleOutput("changed: [hs1]") in handled.notes


# -- failures ---------------------------------------------------------------------------


def test_failure_names_host_task_and_message() -> None:
    tracker = RunTracker()

    notes = feed(
        tracker,
        task_start("Start synapse"),
        failed("hs1", "Start synapse", {"msg": "Unable to start service matrix-synapse"}),
        stats(failures={"hs1": 1}, processed={"hs1": 1}),
    )

    expected = TaskFailure("hs1", "Start synapse", "Unable to start service matrix-synapse")
    assert tracker.failures(rc=2, status="failed") == [expected]
    assert HostOutcome("hs1", "Start synapse", "failed", expected.message) in notes


def test_ignored_failures_are_not_failures() -> None:
    tracker = RunTracker()
    feed(
        tracker,
        failed("hs1", "Probe", {"msg": "absent"}, ignore_errors=True),
        stats(ok={"hs1": 1}, ignored={"hs1": 1}, processed={"hs1": 1}),
    )
    assert tracker.failures(rc=0, status="successful") == []


def test_rescued_failures_are_dropped_once_stats_say_so() -> None:
    tracker = RunTracker()

    feed(
        tracker,
        failed("hs1", "Try the fast way", {"msg": "boom"}),  # rescued by a block
        ok("hs1", "Do it the slow way", {"changed": True}),
        failed("hs1", "Verify", {"msg": "still broken"}),
    )
    assert len(tracker.failures(rc=2, status="failed")) == 2  # before stats: all of them

    feed(tracker, stats(failures={"hs1": 1}, rescued={"hs1": 1}, processed={"hs1": 1}))
    assert tracker.failures(rc=2, status="failed") == [TaskFailure("hs1", "Verify", "still broken")]


def test_a_fully_rescued_run_has_no_failures() -> None:
    tracker = RunTracker()
    feed(
        tracker,
        failed("hs1", "Try", {"msg": "boom"}),
        stats(ok={"hs1": 1}, rescued={"hs1": 1}, processed={"hs1": 1}),
    )
    assert tracker.failures(rc=0, status="successful") == []


def test_unreachable_host_is_a_failure() -> None:
    tracker = RunTracker()
    feed(
        tracker,
        event(
            "runner_on_unreachable",
            "fatal: [web1]: UNREACHABLE!",
            host="web1",
            task="Gathering Facts",
            res={
                "unreachable": True,
                "changed": False,
                "msg": "Failed to connect to the host via ssh: Connection refused",
            },
        ),
        stats(dark={"web1": 1}, processed={"web1": 1}),
    )
    assert tracker.failures(rc=4, status="failed") == [
        TaskFailure(
            "web1",
            "Gathering Facts",
            "Failed to connect to the host via ssh: Connection refused",
            unreachable=True,
        )
    ]


def test_failures_keep_run_order_across_hosts() -> None:
    tracker = RunTracker()
    feed(
        tracker,
        failed("b", "First", {"msg": "1"}),
        failed("a", "Second", {"msg": "2"}),
        stats(failures={"a": 1, "b": 1}),
    )
    assert [f.task for f in tracker.failures(rc=2, status="failed")] == ["First", "Second"]


def test_controller_error_becomes_a_failure_when_no_task_failed() -> None:
    tracker = RunTracker()
    lines = [
        "\x1b[1;35m[WARNING]: Could not match supplied host pattern, ignoring: nohost\x1b[0m",
        "\x1b[0;31m[ERROR]: YAML parsing failed: did not find expected key.\x1b[0m",
        "\x1b[0;31mOrigin: /site/playbooks/site.yml:5:4\x1b[0m",
        "\x1b[0;31m\x1b[0m",
        "\x1b[0;31m5    bad: [\x1b[0m",
    ]

    notes = feed(tracker, *(event("verbose", line) for line in lines))

    assert (
        ControllerMessage("warning", "Could not match supplied host pattern, ignoring: nohost")
        in notes
    )
    assert ControllerMessage("error", "YAML parsing failed: did not find expected key.") in notes
    assert tracker.failures(rc=4, status="failed") == [
        TaskFailure(
            CONTROLLER,
            "ansible-playbook",
            "YAML parsing failed: did not find expected key.\n"
            "Origin: /site/playbooks/site.yml:5:4\n"
            "5    bad: [",
        )
    ]


def test_interrupted_run_says_so() -> None:
    tracker = RunTracker()
    [failure] = tracker.failures(rc=254, status="canceled")
    assert failure.host == CONTROLLER
    assert "interrupted" in failure.message


def test_successful_run_has_no_failures() -> None:
    assert RunTracker().failures(rc=0, status="successful") == []


# -- failure messages -------------------------------------------------------------------


def test_message_shows_stderr_tail_not_the_whole_result() -> None:
    res = {
        "changed": True,
        "rc": 3,
        "msg": "non-zero return code",
        "cmd": f"deploy --password {SECRET}",
        "stdout": "\n".join(f"line{i}" for i in range(1, 9)),
        "stderr": "\n".join(f"err{i}" for i in range(1, 11)),
        "invocation": {"module_args": {"_raw_params": f"deploy --password {SECRET}"}},
    }

    message = failure_message(res)

    assert message.splitlines() == [
        "non-zero return code (rc 3)",
        "stderr (last 4 lines):",
        "  err7",
        "  err8",
        "  err9",
        "  err10",
    ]
    assert SECRET not in message


def test_message_falls_back_to_stdout_when_stderr_is_empty() -> None:
    res = {"rc": 1, "msg": "non-zero return code", "stdout": "a\nb\nfailed here", "stderr": ""}
    assert failure_message(res).splitlines() == [
        "non-zero return code (rc 1)",
        "stdout (last 3 lines):",
        "  a",
        "  b",
        "  failed here",
    ]


def test_message_of_a_crashed_module_shows_its_stderr() -> None:
    res = {
        "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
        "module_stdout": "",
        "module_stderr": "Traceback (most recent call last):\nImportError: no module named apt",
        "rc": 1,
    }
    message = failure_message(res)
    assert "ImportError: no module named apt" in message


def test_long_lines_and_messages_are_trimmed() -> None:
    message = failure_message({"msg": "x" * 1000 + "\n" + "\n".join(["more"] * 20)})
    lines = message.splitlines()
    assert len(lines) <= 6
    assert all(len(line) <= 200 for line in lines)


def test_message_for_failed_loop_items() -> None:
    res = {
        "msg": "One or more items failed",
        "results": [
            {"item": "ok-one", "failed": False, "changed": False},
            {"item": "alice", "failed": True, "msg": "user exists", "_ansible_item_label": "alice"},
            {"item": "bob", "failed": True, "rc": 2, "msg": "", "stderr": "bad name"},
        ],
    }
    assert failure_message(res).splitlines() == [
        "item alice: user exists",
        "item bob: rc 2",
        "stderr: bad name",
    ]


def test_assertion_and_failed_when_are_explained() -> None:
    assert "assertion: synapse_port > 0" in failure_message(
        {"msg": "Assertion failed", "assertion": "synapse_port > 0"}
    )
    assert "failed_when condition was true" in failure_message({"failed_when_result": True})


def test_message_without_anything_useful() -> None:
    assert failure_message({"exception": "(traceback unavailable)"}) == (
        "the task failed without a message"
    )
    assert failure_message(None) == "Ansible reported the failure without details"


# -- no_log -----------------------------------------------------------------------------
