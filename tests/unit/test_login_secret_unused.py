"""A secret stored for a feature that is off (`wmx login client-secret`, `wmx config
smtp-password`, `wmx monitoring smtp-password`) is kept, and the command says that
nothing uses it yet: it had said "Apply with `wmx deploy --only …`", which changes
nothing then. With the feature on, it says to deploy."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.site import load_site

runner = CliRunner()

CASES = [
    (["login", "client-secret"], "login_client_secret", "the login is off", None),
    (
        ["config", "smtp-password"],
        "synapse_smtp_password",
        "synapse.email.smtp_host is empty",
        {"synapse.email": "{smtp_host: smtp.example.org, notif_from: wmx@example.org}"},
    ),
    (
        ["monitoring", "smtp-password"],
        "alert_smtp_password",
        "monitoring.smtp.smarthost is empty",
        {"monitoring.smtp.smarthost": "smtp.example.org:587"},
    ),
]


@pytest.mark.parametrize(("command", "field", "off", "on"), CASES, ids=lambda c: str(c))
def test_a_secret_for_a_feature_that_is_off_says_nothing_uses_it(
    site_dir: Path, command: list[str], field: str, off: str, on: dict[str, str] | None
) -> None:
    store = ["--site", str(site_dir), *command, "--stdin"]
    result = runner.invoke(app, store, input="s3cret-1234\n")
    assert result.exit_code == 0, result.output
    assert f"nothing uses it while {off}" in result.output
    assert "--only" not in result.output
    assert getattr(load_site(site_dir).secrets, field) == "s3cret-1234"
    if on is None:
        return
    for key, value in on.items():
        changed = runner.invoke(app, ["--site", str(site_dir), "config", "set", key, value])
        assert changed.exit_code == 0, changed.output
    result = runner.invoke(app, store, input="s3cret-5678\n")
    assert result.exit_code == 0, result.output
    assert "Apply with `wmx deploy --only" in result.output and "nothing uses" not in result.output
