"""`wmx init` with a Wikimedia login: the consumer's key asked or given, its secret asked
without echo (never printed, never on a command line) or left to `wmx login client-secret`."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from wmx.cli import app
from wmx.site import SitePaths, load_config
from wmx.site.secrets import load_secrets

runner = CliRunner()
KEY = "0123456789abcdef" * 2
SECRET = "s3cr3t-of-the-consumer"


def test_asked_the_key_and_the_secret_without_echo(tmp_path: Path) -> None:
    site = tmp_path / "asked"
    # Server name, three defaults, admin e-mail's default, the key, a bad key first.
    answers = f"example.test\n\n\n\n\nnot-a-key\n{KEY}\n{SECRET}\n{SECRET}\n"
    result = runner.invoke(app, ["init", str(site)], input=answers)
    assert result.exit_code == 0, result.stderr
    assert "is not an OAuth 2.0 consumer key" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    paths = SitePaths(site)
    login = load_config(paths).login
    assert (login.provider, login.consumer_key) == ("wikimedia", KEY)
    assert load_secrets(paths.secrets).login_client_secret == SECRET


def test_passwords_when_the_key_is_left_empty(tmp_path: Path) -> None:
    site = tmp_path / "plain"
    result = runner.invoke(app, ["init", str(site)], input="example.test\n\n\n\n\n\n")
    assert result.exit_code == 0, result.stderr
    assert not load_config(SitePaths(site)).login.enabled
    assert "login" not in (yaml.safe_load((site / "wmx.yaml").read_text()) or {})


def test_defaults_take_the_key_and_point_to_the_secret_command(tmp_path: Path) -> None:
    site = tmp_path / "scripted"
    argv = ["init", str(site), "--defaults", "--server-name", "example.test"]
    result = runner.invoke(app, [*argv, "--wikimedia-consumer-key", KEY])
    assert result.exit_code == 0, result.stderr
    assert "login client-secret" in result.stdout
    assert load_config(SitePaths(site)).login.consumer_key == KEY
    assert load_secrets(SitePaths(site).secrets).login_client_secret == ""


def test_a_bad_key_is_one_line_naming_the_option(tmp_path: Path) -> None:
    argv = ["init", str(tmp_path / "bad"), "--defaults", "--server-name", "example.test"]
    result = runner.invoke(app, [*argv, "--wikimedia-consumer-key", "ABC"])
    assert result.exit_code == 2
    assert "--wikimedia-consumer-key" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "bad").exists()


def test_a_secret_not_given_leaves_no_site(tmp_path: Path) -> None:
    """The secret is asked before anything is written: standard input that ends first,
    or two lines that differ, leave no half-made site (it had been written, with login on
    and no secret, and a second `wmx init` refused it)."""
    start = f"example.test\n\n\n\n\n{KEY}\n"
    for name, answers, said in [
        ("ended", start, "leave the consumer key empty"),
        ("differ", f"{start}{SECRET}\nother\n", "differ"),
    ]:
        result = runner.invoke(app, ["init", str(tmp_path / name)], input=answers)
        assert result.exit_code == 2 and said in result.stderr, result.stderr
        assert "--stdin" not in result.stderr  # wmx init has no --stdin
        assert not (tmp_path / name).exists()


def test_validate_refuses_a_site_whose_secret_is_still_missing(tmp_path: Path) -> None:
    site = tmp_path / "scripted"
    argv = ["init", str(site), "--defaults", "--server-name", "example.test"]
    assert runner.invoke(app, [*argv, "--wikimedia-consumer-key", KEY]).exit_code == 0
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    # An input error of secrets.yml, as a missing generated secret is: exit 2, its line.
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert re.match(
        rf"error: {re.escape(str(site))}/secrets\.yml:\d+: login_client_secret ", result.stderr
    )
    assert "login.provider" in result.stderr and "`wmx login client-secret`" in result.stderr


def test_a_server_name_too_long_for_wiki_logins_is_refused_before_writing(
    tmp_path: Path,
) -> None:
    name = ".".join(["a" * 60, "b" * 60, "c" * 60, "d" * 55, "org"])
    argv = ["init", str(tmp_path / "long"), "--defaults", "--server-name", name]
    result = runner.invoke(app, [*argv, "--wikimedia-consumer-key", KEY])
    assert result.exit_code == 2 and "too long for logins with the wiki" in result.stderr
    assert not (tmp_path / "long").exists()
