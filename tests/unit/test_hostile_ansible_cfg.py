"""An ansible.cfg in the site (the directory operators run wmx from) is not ansible-core's
configuration in wmx's process: it could name plugin directories whose Python Ansible
runs while it reads the inventory (wmx.site.ansible_config). Run as a real `wmx` process
from the site's directory: in this test process Ansible may be configured already."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = """\
from pathlib import Path

from ansible.plugins.vars import BaseVarsPlugin

Path({marker!r}).write_text("ran")


class VarsModule(BaseVarsPlugin):
    REQUIRES_ENABLED = False

    def get_vars(self, loader, path, entities, cache=True):
        return {{}}
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    _wmx(tmp_path, "init", "site", "--defaults", "--server-name", "example.org")
    return tmp_path / "site"


def _wmx(cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    result = subprocess.run(
        [sys.executable, "-c", "from wmx.entry import main; main()", *args],
        cwd=cwd,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _plant(directory: Path, marker: Path) -> None:
    (directory / "plugins").mkdir()
    (directory / "plugins" / "planted.py").write_text(PLUGIN.format(marker=str(marker)))
    (directory / "ansible.cfg").write_text(f"[defaults]\nvars_plugins = {directory}/plugins\n")


def test_an_ansible_cfg_in_the_site_runs_nothing(site: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    _plant(site, marker)
    _wmx(site, "config", "validate")
    assert not marker.exists()


def test_the_operators_ansible_config_still_applies(site: Path, tmp_path: Path) -> None:
    """$ANSIBLE_CONFIG is the operator's own choice (their environment, not the site):
    it is read, as it is for a deploy's ansible-playbook."""
    own = tmp_path / "operator"
    own.mkdir()
    marker = tmp_path / "ran"
    _plant(own, marker)
    _wmx(site, "config", "validate", env={"ANSIBLE_CONFIG": str(own / "ansible.cfg")})
    assert marker.exists()
