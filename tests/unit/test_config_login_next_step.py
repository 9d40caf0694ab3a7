"""Login on without the consumer's secret: an input error of secrets.yml, and the next
step said where login is turned on.

The missing secret was a plain error (exit 1) naming no file, and `wmx config set login
…` that turned login on said only "apply with `wmx deploy`", which then refused the
site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.components.synapse import require_login_secret
from wmx.errors import InputError
from wmx.site import load_site
from wmx.site.secrets import store_secret

runner = CliRunner()
KEY = "0123456789abcdef" * 2
LOGIN_ON = f"{{provider: wikimedia, consumer_key: {KEY}}}"
NEXT = "next: store the consumer's secret with `wmx login client-secret`, then `wmx deploy`"


def _set(site: Path, key: str, value: str) -> str:
    result = runner.invoke(app, ["--site", str(site), "config", "set", key, value])
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def test_turning_login_on_says_the_secret_comes_next(site_dir: Path) -> None:
    said = _set(site_dir, "login", LOGIN_ON)
    assert NEXT in said and "apply with" not in said
    # Any change while the secret is missing says so: the site would not render.
    assert NEXT in _set(site_dir, "login.button_label", "Wiki")
    store_secret(site_dir / "secrets.yml", "login_client_secret", "s3cr3t-of-the-consumer")
    said = _set(site_dir, "login.button_label", "Wiki account")
    assert "(apply with `wmx deploy`)" in said and "client-secret" not in said


def test_without_login_the_step_is_the_deploy(site_dir: Path) -> None:
    assert "(apply with `wmx deploy`)" in _set(site_dir, "synapse.log_level", "ERROR")


def test_the_missing_secret_is_secrets_ymls_input_error(site_dir: Path) -> None:
    _set(site_dir, "login", LOGIN_ON)
    site = load_site(site_dir)
    with pytest.raises(InputError) as raised:
        require_login_secret(site)
    assert raised.value.exit_code == 2
    (line,) = raised.value.lines
    lines = (site_dir / "secrets.yml").read_text().splitlines()
    number = next(n for n, text in enumerate(lines, 1) if text.startswith("login_client_secret:"))
    assert line.startswith(f"{site_dir}/secrets.yml:{number}: login_client_secret is not set")
    assert "login.provider" in line and "`wmx login client-secret`" in line


@pytest.mark.parametrize("command", [["config", "validate"], ["render"]])
def test_commands_that_need_it_exit_2_naming_secrets_yml(
    site_dir: Path, command: list[str]
) -> None:
    _set(site_dir, "login", LOGIN_ON)
    result = runner.invoke(app, ["--site", str(site_dir), *command])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert re.match(r"error: .*/secrets\.yml:\d+: login_client_secret is not set", errors[0])
    assert not (site_dir / "build").exists()
