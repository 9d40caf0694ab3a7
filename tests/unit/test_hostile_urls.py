"""`--url` / $WMX_ADMIN_URL: a URL that is refused is one line that never quotes a
password written into it, and a malformed host or port is refused, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.admin.account import check_admin_url
from wmx.cli import app
from wmx.errors import InputError

from .test_hostile_files import new_site

runner = CliRunner()


@pytest.mark.parametrize(
    "url",
    [
        "http://admin:hunter2secret@10.0.0.5:8008",
        "https://admin:hunter2secret@[::1",
        "http://admin:hun/ter2secret@10.0.0.5:8008",
        "http://admin:hunter2secret/@10.0.0.5:8008",
        "admin:hunter2secret@10.0.0.5:8008",
        "admin:hunter2secret://x@10.0.0.5",
        "http://[::1",
        "http://127.0.0.1:99999",
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/x",
        "javascript:alert(1)",
    ],
)
def test_a_bad_admin_url_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(InputError, match="is not a base URL") as refused:
        check_admin_url(url)
    assert "hunter2secret" not in str(refused.value)
    assert "ter2secret" not in str(refused.value)


def test_the_cli_refuses_a_malformed_url_in_one_line(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    result = runner.invoke(
        app,
        ["--site", str(site), "user", "list"],
        env={"WMX_ADMIN_URL": "http://u:hunter2secret@[::1"},
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "hunter2secret" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not a base URL" in lines[0], lines


@pytest.mark.parametrize(
    "url",
    ["https://matrix.example.test", "https://MATRIX.example.test:443", "https://example.test:8448"],
)
def test_the_sites_public_name_is_refused_before_signing_in(tmp_path: Path, url: str) -> None:
    """The site's own nginx hides the Admin API on its public names: every command failed
    after signing in, saying the endpoint was unknown (as if Synapse were too old)."""
    site = new_site(tmp_path)
    result = runner.invoke(app, ["--site", str(site), "user", "list", "--url", url])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "hides the Admin API" in lines[0], lines
