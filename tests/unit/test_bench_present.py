"""wmx.bench.present: what `wmx bench` prints after a run. The error names come from the
server's responses and the URL from the operator: text, never Rich markup."""

from __future__ import annotations

from collections import Counter

from wmx.bench.present import show_result
from wmx.bench.spec import BenchResult, BenchSpec
from wmx.present import console


def test_server_error_messages_are_shown_as_text() -> None:
    result = BenchResult(
        BenchSpec(),
        "example.test",
        "https://matrix.example.test/[bold]",
        sent=3,
        send_errors=Counter({"quota [/] exceeded [bold]now": 2}),
        sync_errors=Counter({"429": 1}),
    )
    with console.capture() as out:
        show_result(result)
    text = out.get()
    assert "quota [/] exceeded [bold]now: 2" in text
    assert "sync 429: 1" in text
    assert "https://matrix.example.test/[bold]" in text


def test_a_run_without_errors_says_none() -> None:
    with console.capture() as out:
        show_result(BenchResult(BenchSpec(), "example.test", "https://m.example.test", sent=1))
    assert any(line.split() == ["errors", "none"] for line in out.get().splitlines())
