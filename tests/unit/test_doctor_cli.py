"""`wmx doctor` on the command line: light help, usage errors exit 2, the report's lines."""

from __future__ import annotations

import json
import subprocess
import sys

from rich.console import Console
from typer.testing import CliRunner

from tests.unit.test_cli_imports import HEAVY, WRAPPER
from wmx.cli import app
from wmx.doctor import KINDS, Check, Report
from wmx.doctor.present import render_report


def test_doctor_help_imports_nothing_heavy() -> None:
    heavy = [*HEAVY, "wmx.doctor", "cryptography"]
    cases: list[tuple[list[str], dict[str, str]]] = [(["doctor", "--help"], {}), (["--help"], {})]
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, json.dumps(heavy), json.dumps(cases)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    for loaded in json.loads(result.stdout.strip().splitlines()[-1]):
        # Typer imports pydantic itself for its parameters; wmx's own modules stay out.
        assert [m for m in loaded if not m.startswith("pydantic")] == []


def test_an_unknown_check_to_skip_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["doctor", "--skip", "nope"])
    assert result.exit_code == 2
    assert "--skip nope: no such check" in result.output
    assert "Traceback" not in result.output


def test_every_kind_is_named_once() -> None:
    assert len(KINDS) == len(set(KINDS))
    assert {"tls", "server-keys", "clock", "registration", "synapse-release"} <= set(KINDS)


def test_a_failure_shows_what_to_change_and_markup_stays_text() -> None:
    report = Report(
        "example.test",
        [
            Check("dns-homeserver", "DNS of matrix.example.test", True, "10.0.0.1"),
            Check("tls:m:8448", "TLS on m:8448", False, "[bold]for other.test", "renew it"),
            Check("clock:lab1", "Clock of lab1", False, "ahead by 30 s", "run NTP", "inside"),
        ],
    )
    console = Console(width=200, record=True, color_system=None)
    for line in render_report(report):
        console.print(line)
    text = console.export_text()
    assert "From outside, as another homeserver sees example.test" in text
    assert "✓ DNS of matrix.example.test  10.0.0.1" in text
    assert "✗ TLS on m:8448  [bold]for other.test" in text
    assert "    fix: renew it  [tls:m:8448]" in text
    assert "From inside, as a careful operator" in text
    assert "2 of 3 checks failed" in text
    assert not report.ok and report.to_dict()["checks"][2]["side"] == "inside"
