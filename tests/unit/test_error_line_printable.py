"""Every error line wmx prints is text a terminal shows, not runs: whatever a message
quotes (a value typed, a file's name, a server's answer), an ESC sequence or a bidi
control is written escaped by wmx.present.print_error, the one printer of error lines."""

from __future__ import annotations

import pytest

from wmx.errors import WmxError, printable
from wmx.present import err_console, print_error


def test_print_error_escapes_what_a_terminal_would_run() -> None:
    with err_console.capture() as captured:
        print_error("cannot read \x1b[2Jfile\u202e.txt\x07")
    shown = captured.get()
    assert shown == "error: cannot read \\x1b[2Jfile\\u202e.txt\\x07\n"


def test_a_wmx_error_quoting_an_escape_reaches_the_terminal_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The root group prints each line of a WmxError through print_error."""
    from typer.testing import CliRunner

    import wmx.lab.present
    from wmx.cli import app

    def fail(output: object) -> None:
        raise WmxError("first \x1b]0;title\x07 line\nsecond \x9b line")

    monkeypatch.setattr(wmx.lab.present, "status_command", fail)
    result = CliRunner().invoke(app, ["lab", "status"])
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\x9b" not in result.output
    assert "first \\x1b]0;title\\x07 line" in result.output
    assert "second \\x9b line" in result.output


def test_printable_text_is_unchanged() -> None:
    assert printable("wmx.yaml:3: synapse.version: ünïcode ok") == (
        "wmx.yaml:3: synapse.version: ünïcode ok"
    )
