"""The site commands through Typer's CliRunner, as an operator types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app

runner = CliRunner()


def _wmx(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_non_interactive_writes_a_complete_site(tmp_path: Path) -> None:
    site = tmp_path / "chapter"
    code, out, err = _wmx("init", str(site), "--defaults", "--server-name", "wikimedia.test")
    assert code == 0, err
    assert "Created site" in out
    text = (site / "wmx.yaml").read_text()
    assert "server_name: wikimedia.test" in text
    assert "host: matrix.wikimedia.test" in text and "host: element.wikimedia.test" in text
    assert "CANNOT change after the first deploy" in text
    assert (site / "secrets.yml").stat().st_mode & 0o777 == 0o600
    assert "secrets.yml" in (site / ".gitignore").read_text()
    code, out, _ = _wmx("--site", str(site), "config", "validate")
    assert code == 0 and "valid" in out


def test_init_interactive_asks_and_rejects_bad_answers(tmp_path: Path) -> None:
    site = tmp_path / "asked"
    answers = "not a name\nexample.test\n\n\n\nops@example.test\n\n"
    result = runner.invoke(app, ["init", str(site)], input=answers)
    assert result.exit_code == 0, result.stderr
    # Why an answer was refused goes to stderr; stdout is the report. Answers from a
    # pipe are read unasked (a terminal's questions go to stderr).
    assert "is not a DNS host name" in result.stderr
    assert "Server name" not in result.stdout + result.stderr
    assert "is not a DNS host name" not in result.stdout and "Created site" in result.stdout
    text = (site / "wmx.yaml").read_text()
    assert "server_name: example.test" in text and "email: ops@example.test" in text


def test_init_refuses_bad_options_and_existing_sites(tmp_path: Path, site_dir: Path) -> None:
    code, _, err = _wmx("init", str(tmp_path / "x"), "--defaults")
    assert code == 2 and "--server-name is required" in err
    code, _, err = _wmx("init", str(tmp_path / "y"), "--defaults", "--server-name", "bad_name")
    assert code == 2 and "is not a DNS host name" in err
    assert not (tmp_path / "y").exists()
    code, _, err = _wmx("init", str(site_dir), "--defaults", "--server-name", "example.test")
    assert code == 2 and "already holds a site" in err


def test_config_set_keeps_comments_and_order(site_dir: Path) -> None:
    before = (site_dir / "wmx.yaml").read_text()
    code, _, err = _wmx(
        "--site", str(site_dir), "config", "set", "synapse.max_upload_size_mb", "100"
    )
    assert code == 0, err
    after = (site_dir / "wmx.yaml").read_text()
    assert after == before.replace("max_upload_size_mb: 50", "max_upload_size_mb: 100")
    code, out, _ = _wmx("--site", str(site_dir), "config", "get", "synapse.max_upload_size_mb")
    assert (code, out.strip()) == (0, "100")
    code, out, _ = _wmx("--site", str(site_dir), "config", "get", "homeserver")
    assert json.loads(out)["host"] == "matrix.example.test"


def test_config_set_refuses_invalid_values_and_writes_nothing(site_dir: Path) -> None:
    before = (site_dir / "wmx.yaml").read_text()
    code, _, err = _wmx("--site", str(site_dir), "config", "set", "synapse.registration", "anyone")
    assert code == 2
    assert "synapse.registration: must be one of 'closed', 'token' or 'open' (got 'anyone')" in err
    # Open registration without e-mail verification: a rule across fields.
    code, _, err = _wmx("--site", str(site_dir), "config", "set", "synapse.registration", "open")
    assert code == 2 and "open needs e-mail verification" in " ".join(err.split())
    code, _, err = _wmx("--site", str(site_dir), "config", "set", "synapse.colour", "blue")
    assert code == 2 and "unknown setting 'synapse.colour'" in err
    assert (site_dir / "wmx.yaml").read_text() == before


def test_server_name_is_frozen_after_a_deploy(site_dir: Path) -> None:
    (site_dir / ".wmx" / "deployed").mkdir(parents=True)
    code, _, err = _wmx("--site", str(site_dir), "config", "set", "server_name", "other.test")
    assert code == 2 and "cannot change after the first deploy" in err


def test_commands_outside_a_site_say_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WMX_SITE", raising=False)
    code, _, err = _wmx("config", "validate")
    assert code == 2 and "wmx init" in err


def test_validate_reports_broken_files_without_traceback(site_dir: Path) -> None:
    (site_dir / "wmx.yaml").write_text("server_name: [\n")
    code, out, err = _wmx("--site", str(site_dir), "config", "validate")
    assert code == 2 and "broken YAML" in err and "Traceback" not in out + err
