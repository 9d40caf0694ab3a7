"""What the run display and the end-of-run summary print (to a non-terminal Console)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from wmx.run.display import LiveDisplay, PlainDisplay, run_display
from wmx.run.events import (
    AnsibleOutput,
    ControllerMessage,
    FileDiff,
    HostOutcome,
    LiveCounts,
    PlayStarted,
    RunTracker,
    TaskStarted,
)
from wmx.run.results import CONTROLLER, HostStats, RunResult, TaskFailure
from wmx.run.summary import print_summary


def console(*, terminal: bool = False) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=100), buffer


def result(**overrides: object) -> RunResult:
    fields: dict[str, object] = {
        "ok": True,
        "rc": 0,
        "status": "successful",
        "stats": {"hs1": HostStats(ok=5, changed=2)},
        "changed_total": 2,
        "failures": [],
        "changed_tasks": [("hs1", "Install"), ("hs1", "Configure")],
        "artifact_dir": Path("/site/.wmx/runs/r/artifacts/r"),
        "run_dir": Path("/site/.wmx/runs/r"),
    }
    fields.update(overrides)
    return RunResult(**fields)  # type: ignore[arg-type]


def test_display_suits_the_console() -> None:
    plain, _ = console()
    terminal, _ = console(terminal=True)
    assert isinstance(run_display(plain, RunTracker(), verbose=False, diff=False), PlainDisplay)
    assert isinstance(run_display(terminal, RunTracker(), verbose=False, diff=False), LiveDisplay)


def test_plain_display_prints_plays_tasks_and_what_matters() -> None:
    out, buffer = console()
    display = PlainDisplay(out, RunTracker(), verbose=False, diff=False)

    display.show(
        [
            AnsibleOutput("TASK [Install] ****"),  # Ansible's own text: only with --verbose
            PlayStarted("Deploy"),
            TaskStarted("Install"),
            HostOutcome("hs1", "Install", "ok"),
            HostOutcome("hs2", "Install", "changed"),
            HostOutcome("hs3", "Install", "failed", "apt failed\nmore detail"),
            TaskStarted("Restart", handler=True),
            ControllerMessage("warning", "deprecated thing"),
            FileDiff("hs1", "Install", "+new"),  # diffs only with --diff
        ]
    )

    assert buffer.getvalue().splitlines() == [
        "PLAY Deploy",
        "TASK Install",
        "  changed     hs2  Install",
        "  failed      hs3  Install: apt failed",
        "HANDLER Restart",
        "warning: deprecated thing",
    ]


def test_diffs_are_shown_with_diff() -> None:
    out, buffer = console()
    PlainDisplay(out, RunTracker(), verbose=False, diff=True).show(
        [FileDiff("hs1", "Write config", "--- before\n+++ after\n-old\n+new")]
    )
    assert buffer.getvalue().splitlines() == [
        "  diff        hs1  Write config",
        "    --- before",
        "    +++ after",
        "    -old",
        "    +new",
    ]


def test_verbose_prints_ansible_text_instead() -> None:
    out, buffer = console()
    PlainDisplay(out, RunTracker(), verbose=True, diff=True).show(
        [AnsibleOutput("TASK [Install] ****\nok: [hs1]"), TaskStarted("Install")]
    )
    assert buffer.getvalue().splitlines() == ["TASK [Install] ****", "ok: [hs1]"]


def test_ansible_text_is_never_read_as_markup() -> None:
    out, buffer = console(terminal=True)
    PlainDisplay(out, RunTracker(), verbose=True, diff=False).show(
        [AnsibleOutput("[bold]not bold[/bold] [link=x]y[/link]")]
    )
    assert "[bold]not bold[/bold] [link=x]y[/link]" in buffer.getvalue()


def test_live_display_renders_play_task_and_host_counts() -> None:
    out, buffer = console(terminal=True)
    tracker = RunTracker(play="Deploy", task="Install")
    tracker.live["hs1"] = LiveCounts(ok=3, changed=1)

    with LiveDisplay(out, tracker, verbose=False, diff=False) as display:
        out.print(display)

    text = buffer.getvalue()
    for expected in ("Deploy", "Install", "hs1", "changed", "unreachable"):
        assert expected in text


def test_summary_of_a_successful_run() -> None:
    out, buffer = console()
    print_summary(out, result())
    text = buffer.getvalue()
    assert "Recap" in text
    for header in ("host", "ok", "changed", "failed", "unreachable", "skipped", "rescued"):
        assert header in text
    assert "ignored" in text
    assert "✓ Run finished: 2 changed on 1 host" in text
    assert "Run record: /site/.wmx/runs/r" in text


def test_summary_of_a_check_run_says_nothing_changed() -> None:
    out, buffer = console()
    print_summary(out, result(check=True))
    assert "check mode: nothing was changed" in buffer.getvalue()
    assert "2 would change" in buffer.getvalue()


def test_summary_of_a_failed_run_has_one_panel_per_failure() -> None:
    out, buffer = console()
    print_summary(
        out,
        result(
            ok=False,
            rc=2,
            status="failed",
            failures=[
                TaskFailure("hs1", "Start synapse", "Unable to start service\nstderr: boom"),
                TaskFailure("web1", "Gathering Facts", "Connection refused", unreachable=True),
                TaskFailure(CONTROLLER, "ansible-playbook", "YAML parsing failed"),
            ],
        ),
    )
    text = buffer.getvalue()
    assert "hs1 · Start synapse" in text
    assert "Unable to start service" in text
    assert "stderr: boom" in text
    assert "web1 unreachable · Gathering Facts" in text
    assert "ansible-playbook failed" in text
    assert "✗ Run failed: 3 failures (ansible-playbook rc 2)" in text


def test_summary_of_an_interrupted_run() -> None:
    out, buffer = console()
    print_summary(out, result(ok=False, rc=254, status="canceled", stats={}))
    assert "Run interrupted" in buffer.getvalue()
    assert "Recap" not in buffer.getvalue()
