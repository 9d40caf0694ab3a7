"""`wmx status` shows, per remote server, the last successful outgoing and incoming
transaction, and since when sending fails; a server's name is shown as text."""

from __future__ import annotations

import json

from rich.console import Console

from wmx.status.collect import SiteStatus
from wmx.status.federation import RemoteServer, parse_remotes
from wmx.status.present import render_status


def test_rows_become_remote_servers() -> None:
    rows = [
        {"server": "chapter.test", "last_sent_ms": 1_000_000, "last_received_ms": 2_000_000,
         "failing_since_ms": None, "last_retry_ms": None},
        {"server": "broken.test", "last_sent_ms": None, "last_received_ms": None,
         "failing_since_ms": 3_000_000, "last_retry_ms": 4_000_000},
        {"server": None},
    ]  # fmt: skip
    chapter, broken = parse_remotes(json.dumps(rows))
    assert (chapter.server, chapter.last_sent_at, chapter.last_received_at) == (
        "chapter.test", 1000.0, 2000.0)  # fmt: skip
    assert chapter.sending and not broken.sending and broken.failing_since == 3000.0
    assert parse_remotes("") == []


def test_the_status_screen_lists_each_remote() -> None:
    now = 1_700_000_000.0
    status = SiteStatus("wmx.test", now, [], monitoring=False)
    status.federation = [
        RemoteServer("chapter.test", now - 120, now - 60, None, None),
        RemoteServer("[red]broken.test", None, None, now - 3600, now - 60),
    ]
    console = Console(width=160, record=True, color_system=None)
    console.print(render_status(status))
    text = console.export_text()
    assert "federation" in text and "remote server" in text
    assert "chapter.test" in text and "2m 0s ago" in text and "1m 0s ago" in text
    assert "[red]broken.test" in text  # shown as text, never read as markup
    assert "failing since" in text
    data = status.to_dict()
    assert data["federation"][0]["server"] == "chapter.test"


def test_a_federation_read_error_is_shown() -> None:
    status = SiteStatus("wmx.test", 0.0, [], monitoring=False)
    status.federation_error = "federation state from lab1: psql: connection refused"
    console = Console(width=160, record=True, color_system=None)
    console.print(render_status(status))
    assert "psql: connection refused" in console.export_text()
