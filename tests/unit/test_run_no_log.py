"""RunTracker and no_log: what Ansible hid stays hidden in every line wmx shows or keeps,
while changes and warnings are still counted (events as in test_run_events.py)."""

from __future__ import annotations

from typing import Any

from tests.unit.test_run_events import (
    CENSORED,
    SECRET,
    event,
    failed,
    feed,
    ok,
    stats,
)
from wmx.run.events import (
    ControllerMessage,
    HostOutcome,
    RunTracker,
)
from wmx.run.failures import failure_message
from wmx.run.no_log import HIDDEN
from wmx.run.results import TaskFailure


def test_hidden_result_gives_only_hidden_message() -> None:
    assert failure_message(CENSORED) == HIDDEN
    assert failure_message({"_ansible_no_log": True, "msg": SECRET}) == HIDDEN


def test_hidden_loop_items_stay_hidden() -> None:
    res = {"msg": "One or more items failed", "results": [CENSORED, CENSORED]}
    assert failure_message(res) == HIDDEN
    mixed = {"results": [CENSORED, {"item": "x", "failed": True, "msg": "no such user"}]}
    assert failure_message(mixed).splitlines() == [
        "item x: no such user",
        f"1 more item: {HIDDEN}",
    ]


def test_no_log_failure_text_is_replaced_everywhere() -> None:
    # ansible-core 2.19 prints the error message of a failing no_log task; it can
    # quote the secret. Recorded from `fail: msg="bad value {{ secret }}"`, no_log.
    stdout = (
        f"\x1b[0;31m[ERROR]: Task failed: Action failed: bad value {SECRET}\x1b[0m\r\n"
        "\x1b[0;31mOrigin: /pb/play.yml:36:7\x1b[0m\r\n\x1b[0;31m\x1b[0m\r\n"
        "\x1b[0;31m36     - name: Use the secret\x1b[0m\r\n"
        '\x1b[0;31mfatal: [hs1]: FAILED! => {"censored": "the output has been hidden", '
        '"changed": false}\x1b[0m'
    )
    tracker = RunTracker()

    handled = tracker.handle(failed("hs1", "Use the secret", CENSORED, stdout=stdout))
    feed(tracker, stats(failures={"hs1": 1}))

    assert handled.stdout == f"fatal: [hs1]: FAILED! => {HIDDEN}"
    assert SECRET not in repr(handled.notes)
    assert tracker.failures(rc=2, status="failed") == [TaskFailure("hs1", "Use the secret", HIDDEN)]


def test_ignored_no_log_failure_keeps_the_ignoring_line() -> None:
    tracker = RunTracker()
    handled = tracker.handle(
        failed(
            "hs1", "Probe", CENSORED, stdout=f"[ERROR]: {SECRET}\n...ignoring", ignore_errors=True
        )
    )
    assert handled.stdout == f"fatal: [hs1]: FAILED! => {HIDDEN}\n...ignoring"


def test_no_log_change_is_still_counted_as_a_change() -> None:
    # A hidden result no longer says `changed`; Ansible's status word does.
    tracker = RunTracker()
    handled = tracker.handle(
        ok("hs1", "Write secrets.yaml", CENSORED, stdout="\x1b[0;33mchanged: [hs1]\x1b[0m")
    )
    assert handled.stdout == f"changed: [hs1] => {HIDDEN}"
    assert tracker.changed_tasks == [("hs1", "Write secrets.yaml")]
    assert HostOutcome("hs1", "Write secrets.yaml", "changed") in handled.notes


def test_no_log_loop_change_is_counted_from_its_items() -> None:
    tracker = RunTracker()
    feed(
        tracker,
        event(
            "runner_item_on_ok",
            "changed: [hs1] => (item=(censored due to no_log))",
            host="hs1",
            task="Set passwords",
            task_uuid="t9",
            res=CENSORED,
        ),
        ok("hs1", "Set passwords", CENSORED, stdout=" ", uuid="t9"),
    )
    assert tracker.changed_tasks == [("hs1", "Set passwords")]


def test_partly_hidden_loop_hides_the_whole_text() -> None:
    tracker = RunTracker()
    res = {"changed": True, "results": [{"item": "a", "changed": True}, CENSORED]}
    handled = tracker.handle(ok("hs1", "Mixed", res, stdout=f"changed: [hs1] => (item={SECRET})"))
    assert handled.stdout == f"changed: [hs1] => {HIDDEN}"


def test_unreachable_no_log_result_is_hidden() -> None:
    tracker = RunTracker()
    handled = tracker.handle(
        event(
            "runner_on_unreachable",
            f"fatal: [web1]: UNREACHABLE! {SECRET}",
            host="web1",
            task="Login",
            res=CENSORED,
        )
    )
    assert handled.stdout == f"fatal: [web1]: UNREACHABLE! => {HIDDEN}"


def test_lines_quoted_from_a_secret_file_are_dropped(tmp_path: Any) -> None:
    secrets_file = tmp_path / "secrets.yml"
    tracker = RunTracker(secret_paths=[secrets_file])
    # Recorded: a broken secrets.yml in vars_files gives one `error` event …
    error_text = (
        "\x1b[0;31m[ERROR]: YAML parsing failed: While parsing a block mapping did not find "
        "expected key.\x1b[0m\r\n"
        f"\x1b[0;31mOrigin: {secrets_file}:4:9\x1b[0m\r\n\x1b[0;31m\x1b[0m\r\n"
        f'\x1b[0;31m2 other: "{SECRET}\x1b[0m\r\n'
        f'\x1b[0;31m4 third: "{SECRET}"\x1b[0m\r\n'
        "\x1b[0;31m          ^ column 9\x1b[0m"
    )
    handled = tracker.handle(event("error", error_text, error=True))
    # … and controller output outside events comes one line per `verbose` event.
    for line in (f"Origin: {secrets_file}:2:1", "", f"1 password: {SECRET}", "[WARNING]: next"):
        feed(tracker, event("verbose", line))

    assert SECRET not in handled.stdout
    assert f"Origin: {secrets_file}:4:9" in handled.stdout
    assert "(source lines hidden: the file holds secrets)" in handled.stdout
    [failure] = tracker.failures(rc=4, status="failed")
    assert SECRET not in failure.message
    assert "YAML parsing failed" in failure.message


def test_lines_quoted_from_other_files_are_kept(tmp_path: Any) -> None:
    tracker = RunTracker(secret_paths=[tmp_path / "secrets.yml"])
    text = "[ERROR]: bad\nOrigin: /site/playbooks/site.yml:3:1\n\n3 - hosts: [\n"
    handled = tracker.handle(event("error", text, error=True))
    assert "3 - hosts: [" in handled.stdout


def test_task_warnings_are_shown_once() -> None:
    tracker = RunTracker()
    warning = "[WARNING]: Host 'hs1' is using the discovered Python interpreter"
    notes = feed(
        tracker,
        ok("hs1", "One", {"changed": False}, stdout=f"{warning}\r\nok: [hs1]"),
        ok("hs1", "Two", {"changed": False}, stdout=f"{warning}\r\nok: [hs1]"),
    )
    warnings = [note for note in notes if isinstance(note, ControllerMessage)]
    assert warnings == [
        ControllerMessage("warning", "Host 'hs1' is using the discovered Python interpreter")
    ]


def test_warnings_of_hidden_results_stay_hidden() -> None:
    tracker = RunTracker()
    notes = feed(tracker, ok("hs1", "Secret", CENSORED, stdout=f"[WARNING]: {SECRET}\r\nok: [hs1]"))
    assert SECRET not in repr(notes)
