"""Every error line wmx prints is text a terminal shows, not runs: whatever a message
quotes (a value typed, a file's name, a server's answer), an ESC sequence or a bidi
control is written escaped by wmx.present.print_error, the one printer of error lines."""

from __future__ import annotations

from pathlib import Path

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
        raise WmxError(["first \x1b]0;title\x07 line", "second \x9b line"])

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


def test_a_line_break_in_a_message_is_shown_escaped_not_as_a_second_line() -> None:
    """A message is one line whatever it quotes; only a list of problems is several."""
    with err_console.capture() as captured:
        for line in WmxError("cannot read /srv/a\nb/wmx.yaml").lines:
            print_error(line)
    assert captured.get() == "error: cannot read /srv/a\\nb/wmx.yaml\n"


def test_each_problem_of_a_site_in_a_directory_with_a_line_break_is_one_line(
    tmp_path: Path,
) -> None:
    """Every error of a site whose path holds a line break names it on its own line."""
    from typer.testing import CliRunner

    from wmx.cli import app

    site = tmp_path / "two\nlines"
    site.mkdir()
    (site / "wmx.yaml").write_text("server_name: example.org\nsynapse: {bogus: 1}\n")
    (site / "inventory.yml").write_text("all: {}\n")
    result = CliRunner().invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines)
    assert any("two\\nlines/wmx.yaml:2: synapse.bogus: unknown key" in line for line in lines)
