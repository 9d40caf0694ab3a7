"""Two ways an administration command could harm what it handles: wmx-admin's password
sent in clear to a public address, and a failed key export destroying a key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO, Any

import pytest
from typer.testing import CliRunner

from wmx.admin.account import check_admin_url
from wmx.backup import operations
from wmx.backup.operations import export_key_file
from wmx.cli import app
from wmx.errors import InputError, WmxError


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8008",
        "http://localhost:8008",
        "http://[::1]:8008",
        "http://10.0.0.5:8008",
        "http://192.168.1.20:8008",
        "http://172.16.0.9:8008",
        "http://[fd12::5]:8008",
        "https://matrix.example.org",
        "https://198.51.100.7:8448",
    ],
)
def test_admin_url_accepts_tls_or_a_private_plain_address(url: str) -> None:
    assert check_admin_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://matrix.example.org:8008",
        "http://8.8.8.8:8008",
        "http://[2001:4860::8888]:8008",
        "http://[::ffff:8.8.8.8]:8008",
        "http://0.0.0.0:8008",
    ],
)
def test_admin_url_refuses_plain_http_to_anything_else(url: str) -> None:
    with pytest.raises(InputError, match="plain http:// goes only to loopback or a private"):
        check_admin_url(url)


def test_the_refusal_is_one_line_before_anything_is_sent(site_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["--site", str(site_dir), "user", "list", "--url", "http://matrix.example.org:8008"],
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --url http://matrix.example.org:8008")
    assert "loopback or a private address" in lines[0]
    assert "Traceback" not in result.output


# --- key export ---------------------------------------------------------------------------


class Host:
    name = "hs1"


def _exporting(data: bytes, fail: bool = False) -> Any:
    def export_key(host: Any, repo: str, sink: IO[bytes], *, paper: bool = False) -> None:
        sink.write(data)
        sink.flush()
        if fail:
            raise WmxError(f"ssh to {host.name} failed")

    return export_key


def test_a_failed_export_leaves_the_existing_key_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "example.test-local.borg-key"
    key.write_bytes(b"BORG_KEY the good old key\n")
    key.chmod(0o600)
    monkeypatch.setattr(operations, "export_key", _exporting(b"BORG_KEY half", fail=True))
    with pytest.raises(WmxError, match="ssh to hs1 failed"):
        export_key_file(Host(), "local", key)  # type: ignore[arg-type]
    assert key.read_bytes() == b"BORG_KEY the good old key\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [key.name]  # no temporary left


def test_an_empty_export_is_a_failure_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "k.borg-key"
    key.write_bytes(b"old")
    monkeypatch.setattr(operations, "export_key", _exporting(b""))
    with pytest.raises(WmxError, match="came back empty"):
        export_key_file(Host(), "local", key)  # type: ignore[arg-type]
    assert key.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["k.borg-key"]


def test_a_complete_export_replaces_the_file_with_mode_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "k.borg-key"
    key.write_bytes(b"old")
    key.chmod(0o644)
    monkeypatch.setattr(operations, "export_key", _exporting(b"BORG_KEY new\n"))
    export_key_file(Host(), "local", key)  # type: ignore[arg-type]
    assert key.read_bytes() == b"BORG_KEY new\n"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["k.borg-key"]
