"""A host that SSH does not reach is one line naming the host, its address and ssh's
reason (with what to do when the inventory shows it), exit status 1, the same from
`wmx logs`, the admin tunnel (`wmx user list`), status, backup and upgrade: it was ssh's
raw text and exit status 255 (logs), or two lines (the tunnel)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from wmx.components.component import Service
from wmx.errors import WmxError
from wmx.ops import logs
from wmx.site.topology import HostView
from wmx.ssh import port_tunnel
from wmx.ssh.unreachable import ssh_cause, unreachable_message

SYNAPSE = Service("synapse", "matrix-synapse.service")
BANNER = (
    "Connection timed out during banner exchange\nConnection to 203.0.113.10 port 22 timed out\n"
)


def _host(address: str = "10.0.0.7", **variables: object) -> HostView:
    return HostView("matrix", address, ("homeserver",), vars=dict(variables))


def test_the_cause_is_one_line() -> None:
    assert ssh_cause(BANNER) == "Connection to 203.0.113.10 port 22 timed out"
    assert ssh_cause("ssh: Could not resolve hostname nowhere: Name or service not known\n") == (
        "Could not resolve hostname nowhere: Name or service not known"
    )
    assert ssh_cause("") == "ssh exited without a message"


def test_the_line_names_host_address_and_what_to_do(tmp_path: Path) -> None:
    plain = unreachable_message(_host(), BANNER)
    assert plain == (
        "matrix (10.0.0.7) cannot be reached over SSH: Connection to 203.0.113.10 port 22 timed out"
    )
    placeholder = unreachable_message(_host("203.0.113.10"), BANNER)
    assert "\n" not in placeholder and "wmx init's placeholder" in placeholder
    key = str(tmp_path / "gone")
    missing = unreachable_message(_host(ansible_ssh_private_key_file=key), "Permission denied")
    assert f"its SSH key {key} (ansible_ssh_private_key_file) is not on this machine" in missing


def test_logs_to_an_unreachable_host_is_one_line_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert kwargs["stderr"] == subprocess.PIPE
        return subprocess.CompletedProcess(argv, 255, None, BANNER)

    monkeypatch.setattr("wmx.ops.logs.subprocess.run", run)
    with pytest.raises(WmxError) as caught:
        logs.print_journal(_host(), SYNAPSE, None, False, 10)
    assert caught.value.exit_code == 1
    assert str(caught.value).startswith("matrix (10.0.0.7) cannot be reached over SSH: ")
    assert "\n" not in str(caught.value)


def test_logs_passes_journalctl_status_and_messages_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 1, None, "No journal files were found.\n")

    monkeypatch.setattr("wmx.ops.logs.subprocess.run", run)
    assert logs.print_journal(_host(), SYNAPSE, None, False, 10) == 1
    assert "No journal files were found." in capsys.readouterr().err


def test_the_tunnel_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ssh = tmp_path / "ssh"
    lines = "".join(f"echo '{line}' >&2\n" for line in BANNER.splitlines())
    ssh.write_text(f"#!/bin/sh\n{lines}exit 255\n")
    ssh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(WmxError) as caught, port_tunnel(_host(), 8008, timeout=5):
        pass
    assert str(caught.value) == (
        "matrix (10.0.0.7) cannot be reached over SSH: Connection to 203.0.113.10 port 22 timed out"
    )


def test_a_message_that_is_not_utf8_is_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """ssh's (or sudo's) stderr with a byte that is not UTF-8, from a real process."""
    script = "printf 'ssh: connect to host 10.0.0.7 port 22: \\377 No route\\n' >&2; exit 255"
    monkeypatch.setattr(logs, "journal_argv", lambda *_: ["sh", "-c", script])
    with pytest.raises(WmxError, match=r"cannot be reached over SSH: connect to host 10\.0\.0\.7"):
        logs.print_journal(_host(), SYNAPSE, None, False, 10)
