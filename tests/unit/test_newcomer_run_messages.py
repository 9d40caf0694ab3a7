"""A failure panel says the cause first: ansible-core 2.19's "Task failed: " and
"Action failed: " before a task's message are left out (the panel's title already
says host, task and failed or unreachable)."""

from __future__ import annotations

from wmx.run.failures import failure_message


def test_the_cause_comes_first() -> None:
    unreachable = {
        "unreachable": True,
        "msg": "Task failed: Failed to connect to the host via ssh: ssh: connect to host "
        "192.0.2.7 port 22: No route to host",
    }
    assert failure_message(unreachable).startswith("Failed to connect to the host via ssh:")
    failed = {"failed": True, "msg": "Task failed: Action failed: no package matching 'x'"}
    assert failure_message(failed) == "no package matching 'x'"


def test_a_message_that_only_mentions_it_keeps_it() -> None:
    failed = {"failed": True, "msg": "the check said: Task failed: later"}
    assert failure_message(failed) == "the check said: Task failed: later"


def test_a_generic_message_under_the_prefix_still_shows_the_output() -> None:
    failed = {"failed": True, "msg": "Task failed: non-zero return code", "rc": 3,
              "stdout": "the reason"}  # fmt: skip
    assert failure_message(failed) == "non-zero return code (rc 3)\nstdout: the reason"
