"""A site that still holds `wmx init`'s placeholder address (a documentation address)
or names an SSH key file that is not there: `wmx dns` and `wmx config validate` say so
on stderr, naming file, line and host (a warning: exit status 0, stdout unchanged).
They said nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app

runner = CliRunner()


@pytest.fixture
def placeholder_site(tmp_path: Path) -> Path:
    """`wmx init`'s site as a newcomer makes it: the placeholder address."""
    made = runner.invoke(
        app, ["init", f"{tmp_path}/site", "--defaults", "--server-name", "example.org"]
    )
    assert made.exit_code == 0 and (tmp_path / "site" / "inventory.yml").exists(), made.output
    return tmp_path / "site"


def _point_at(root: Path, address: str, key: str | None = None) -> None:
    inventory = root / "inventory.yml"
    text = inventory.read_text()
    extra = f"\n      ansible_ssh_private_key_file: {key}" if key else ""
    inventory.write_text(
        text.replace("ansible_host: 203.0.113.10", f"ansible_host: {address}{extra}")
    )


def _line_of(root: Path, words: str) -> int:
    lines = (root / "inventory.yml").read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if words in line)


def test_dns_warns_of_the_placeholder(placeholder_site: Path) -> None:
    result = runner.invoke(app, ["--site", str(placeholder_site), "dns", "-o", "zone"])
    assert result.exit_code == 0, result.output
    line = _line_of(placeholder_site, "ansible_host: 203.0.113.10")
    assert result.stderr.startswith(
        f"warning: {placeholder_site / 'inventory.yml'}:{line}: matrix: "
        "203.0.113.10 is a documentation address (wmx init's placeholder)"
    )
    assert "warning" not in result.stdout and "IN A 203.0.113.10" in result.stdout


def test_validate_warns_exit_0(placeholder_site: Path) -> None:
    result = runner.invoke(app, ["--site", str(placeholder_site), "config", "validate"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert result.stderr.count("\n") == 1 and "wmx init's placeholder" in result.stderr


def test_a_missing_key_file_is_named_with_its_line(placeholder_site: Path, tmp_path: Path) -> None:
    key = tmp_path / "no-such-key"
    _point_at(placeholder_site, "10.0.0.5", str(key))
    result = runner.invoke(app, ["--site", str(placeholder_site), "config", "validate"])
    assert result.exit_code == 0, result.output
    line = _line_of(placeholder_site, "ansible_ssh_private_key_file")
    assert result.stderr == (
        f"warning: {placeholder_site / 'inventory.yml'}:{line}: matrix: "
        f"ansible_ssh_private_key_file {key}: no such file on this machine (ssh to matrix "
        "would fail)\n"
    )


def test_a_real_address_and_key_say_nothing(placeholder_site: Path, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("key\n")
    _point_at(placeholder_site, "10.0.0.5", str(key))
    for args in (["config", "validate"], ["dns", "-o", "zone"]):
        result = runner.invoke(app, ["--site", str(placeholder_site), *args])
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
