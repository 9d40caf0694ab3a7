"""`wmx init` into hostile places, and the operator's Ansible configuration.

A site directory that is a loop of links or a name too long, a secrets.yml already
planted there as a dangling link (init wrote the new secrets through it), a .gitignore
that cannot be read or is a FIFO (a traceback or a hang after the site was half
written), a name holding a line break: one line, exit 2, nothing written.
$ANSIBLE_CONFIG naming a file ansible-core refuses had been a traceback at its import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.hostile2_support import one_line_refusal
from wmx.cli import app

runner = CliRunner()
DEFAULTS = ["--defaults", "--server-name", "example.test"]


def _refused(target: str, *says: str) -> str:
    return one_line_refusal(runner.invoke(app, ["init", target, *DEFAULTS]), *says)


def test_init_into_a_loop_of_links_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    _refused(str(tmp_path / "loop"), "loop of symbolic links")


def test_init_with_a_name_too_long_is_one_line(tmp_path: Path) -> None:
    _refused(str(tmp_path / ("a" * 300)), "cannot be used")


def test_init_with_a_line_break_in_the_name_writes_nothing(tmp_path: Path) -> None:
    _refused(str(tmp_path / "new\nsite"), "control character")
    assert list(tmp_path.iterdir()) == []


def test_init_never_writes_secrets_through_a_planted_link(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "secrets.yml").symlink_to(tmp_path / "elsewhere.yml")
    _refused(str(site), "already holds a site (secrets.yml)")
    assert not (tmp_path / "elsewhere.yml").exists()
    assert sorted(p.name for p in site.iterdir()) == ["secrets.yml"]


@pytest.mark.timeout(60)
def test_init_with_a_gitignore_that_is_a_fifo_writes_nothing(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    os.mkfifo(site / ".gitignore")
    _refused(str(site), ".gitignore", "is a FIFO")
    assert sorted(p.name for p in site.iterdir()) == [".gitignore"]


@pytest.mark.skipif(os.geteuid() != 0, reason="drops root's permission override with setpriv")
def test_init_with_an_unreadable_gitignore_writes_nothing(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / ".gitignore").write_text("notes\n")
    (site / ".gitignore").chmod(0)
    result = subprocess.run(
        [
            *("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"),
            *(sys.executable, "-c", "from wmx.entry import main; main()"),
            *("init", str(site), *DEFAULTS),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    said = f"error: {site}/.gitignore: cannot be read (permission denied); wmx init adds its"
    assert result.stderr.strip().splitlines() == [f"{said} lines to it"]
    assert sorted(p.name for p in site.iterdir()) == [".gitignore"]


@pytest.mark.parametrize("config", ["/etc/passwd", "bad.cfg"])
def test_an_ansible_config_ansible_refuses_is_one_line(tmp_path: Path, config: str) -> None:
    """A real process: ansible-core reads its configuration once, at its first import."""
    made = runner.invoke(app, ["init", str(tmp_path / "site"), *DEFAULTS])
    assert made.exit_code == 0, made.output
    (tmp_path / "bad.cfg").write_text("[defaults]\n[[broken\n")
    given = config if config.startswith("/") else str(tmp_path / config)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    result = subprocess.run(
        [
            *(sys.executable, "-c", "from wmx.entry import main; main()"),
            *("--site", str(tmp_path / "site"), "config", "validate"),
        ],
        env={**environ, "ANSIBLE_CONFIG": given},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: ansible-core refuses $ANSIBLE_CONFIG ({given!r}): ")
