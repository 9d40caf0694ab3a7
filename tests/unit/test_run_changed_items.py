"""A changed loop task's line names the items that changed."""

from __future__ import annotations

from typing import Any

from tests.unit.test_run_events import Event, event, feed, ok, task_start
from wmx.run.events import HostOutcome, RunTracker


def test_a_changed_loop_task_names_its_changed_items() -> None:
    """A deploy's line "changed  h  Start and enable each one that stopped …" did not
    say which unit it started. The items that changed are named (not the unchanged
    ones, not a hidden one, a host's control characters made printable), five at most."""
    tracker = RunTracker()

    def item(label: str, changed: bool, **res: Any) -> Event:
        result = {"changed": changed, "item": f"Id={label}", "_ansible_item_label": label, **res}
        word = "changed" if changed else "ok"
        return event(
            "runner_item_on_ok",
            f"{word}: [hs1] => (item={label})",
            host="hs1",
            task="Start units",
            task_uuid="task-1",
            res=result,
        )

    hidden = {"censored": "the output has been hidden due to the fact that 'no_log: true'"}
    notes = feed(
        tracker,
        task_start("Start units"),
        item("redis.service", True),
        item("nginx.service", False),
        item("evil\x1b[2J.service", True),
        item("secret", True, **hidden),
        ok("hs1", "Start units", {"changed": True, "results": [{}, {}, {}, {}]}, stdout=" "),
    )
    (outcome,) = [n for n in notes if isinstance(n, HostOutcome)]
    assert outcome.outcome == "changed"
    assert outcome.message == "redis.service, evil\\x1b[2J.service"
    many = [item(f"u{i}.service", True) for i in range(7)]
    notes = feed(tracker, *many, ok("hs1", "Start units", {"changed": True}, stdout=" "))
    (outcome,) = [n for n in notes if isinstance(n, HostOutcome)]
    assert (
        outcome.message == "u0.service, u1.service, u2.service, u3.service, u4.service and 2 more"
    )
    unchanged = feed(tracker, item("a", False), ok("hs1", "Start units", {"changed": False}))
    assert [n.message for n in unchanged if isinstance(n, HostOutcome)] == [None]
