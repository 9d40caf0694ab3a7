"""`wmx login client-secret` stores the consumer's secret whatever the site says, and says
whether anything uses it: with the login off, a deploy would not (it had said "Apply with
`wmx deploy --only synapse`", which changes nothing then)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from wmx.cli import app
from wmx.site import load_site

runner = CliRunner()


def test_a_secret_stored_while_the_login_is_off_says_nothing_uses_it(site_dir: Path) -> None:
    result = runner.invoke(
        app, ["--site", str(site_dir), "login", "client-secret", "--stdin"], input="s3cret-1234\n"
    )
    assert result.exit_code == 0, result.output
    assert "nothing uses it while the login is off" in result.output
    assert "--only synapse" not in result.output
    assert load_site(site_dir).secrets.login_client_secret == "s3cret-1234"
