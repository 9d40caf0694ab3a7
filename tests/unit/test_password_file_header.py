"""`--password-file secrets.yml` had taken secrets.yml's first line, the comment `# Generated
by wmx. Keep private: …`, as the new password, silently. A file that begins as the files
wmx generates begin is refused in one line that quotes nothing of it; any other first line
is the password, one beginning with `#` too."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.hostile2_support import init_site, one_line_refusal
from wmx.admin.passwords import WMX_FILE, read_password_file
from wmx.cli import app
from wmx.errors import InputError
from wmx.site.secrets import SECRETS_HEADER

runner = CliRunner()


def test_the_sites_secrets_file_is_no_password_file(tmp_path: Path) -> None:
    site = init_site(tmp_path / "site")
    with pytest.raises(InputError, match=r"a file wmx wrote .*not a password file") as refused:
        read_password_file(site / "secrets.yml")
    assert "Keep private" not in str(refused.value)


def test_through_the_command_line(tmp_path: Path) -> None:
    site = init_site(tmp_path / "site")
    result = runner.invoke(
        app,
        [
            "--site",
            str(site),
            "user",
            "create",
            "alice",
            "--password-file",
            str(site / "secrets.yml"),
        ],
    )
    line = one_line_refusal(result, "secrets.yml: a file wmx wrote")
    assert "Keep private" not in line


def test_a_password_beginning_with_a_hash_is_still_one(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("#hunter2 is not wmx's\n")
    assert read_password_file(path) == "#hunter2 is not wmx's"


def test_the_header_is_what_is_refused() -> None:
    assert SECRETS_HEADER.startswith(WMX_FILE)
