"""The shared role release_venvs (its module wmx_release_venvs) on real venvs: after a
Debian release upgrade the venvs another Python made are removed (the deploy then builds
them again), venvs of the release's own Python are kept, and a host without venvs yet
passes without a warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from wmx.resources import data_dir

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

INVENTORY = Path(__file__).parent / "playbooks" / "inventory.yml"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def _run(tmp_path: Path, python: str) -> subprocess.CompletedProcess[str]:
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: release_venvs\n"
    )
    extra = {
        "release_venvs_python": python,
        "release_venvs_venvs": [
            str(tmp_path / "synapse/venvs/1.163.2"),
            str(tmp_path / "heisenbridge/venvs/1.15.4"),
        ],
    }
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(INVENTORY), str(play), "-e", json.dumps(extra)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(data_dir("playbooks") / "roles")},
    )


def _make_venvs(tmp_path: Path) -> list[Path]:
    made = [
        tmp_path / "synapse/venvs/1.163.2",
        tmp_path / "synapse/venvs/1.160.0",  # a rollback venv of an earlier release
        tmp_path / "heisenbridge/venvs/1.15.4",
    ]
    for path in made:
        venv.create(path, with_pip=False, symlinks=True)
        assert (path / f"bin/python{THIS_PYTHON}").exists()
    return made


def test_venvs_of_the_release_s_python_are_kept(tmp_path: Path) -> None:
    made = _make_venvs(tmp_path)
    done = _run(tmp_path, THIS_PYTHON)
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(path.is_dir() for path in made)
    assert "changed=0" in done.stdout


def test_venvs_another_python_made_are_removed(tmp_path: Path) -> None:
    made = _make_venvs(tmp_path)
    done = _run(tmp_path, "3.99")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not any(path.exists() for path in made)
    # The venvs' directories stay: the deploy builds the release's venv into them.
    assert (tmp_path / "synapse/venvs").is_dir() and (tmp_path / "heisenbridge/venvs").is_dir()


def test_a_host_without_venvs_yet_passes_quietly(tmp_path: Path) -> None:
    done = _run(tmp_path, "3.13")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[WARNING]" not in done.stdout + done.stderr
    assert "changed=0" in done.stdout


def test_hidden_directories_stay_and_an_unreadable_parent_is_named(tmp_path: Path) -> None:
    made = _make_venvs(tmp_path)
    hidden = tmp_path / "synapse/venvs/.partial"  # as the find module it replaced left it
    hidden.mkdir()
    done = _run(tmp_path, "3.99")
    assert done.returncode == 0, done.stdout + done.stderr
    assert hidden.is_dir() and not any(path.exists() for path in made)
    # A parent that is a file: one line naming it, not a module traceback.
    (tmp_path / "heisenbridge/venvs").rmdir()
    (tmp_path / "heisenbridge/venvs").write_text("")
    done = _run(tmp_path, "3.99")
    assert done.returncode != 0
    assert "heisenbridge/venvs: cannot list its venvs (Not a directory)" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
