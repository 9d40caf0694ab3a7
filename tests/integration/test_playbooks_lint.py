"""The playbooks as the CI of an Ansible project checks them: syntax, ansible-lint
(production profile, no skipped rule without a reason in .ansible-lint) and yamllint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's ansible-playbook, ansible-lint, yamllint


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_site_playbook_syntax() -> None:
    result = _run(
        "ansible-playbook",
        "--syntax-check",
        "-i",
        "localhost,",
        "-e",
        '{"wmx_build_dir": "/nonexistent/build", "wmx_host_vars_dir": "/nonexistent/vars"}',
        "playbooks/site.yml",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ansible_lint_production_profile() -> None:
    # --offline: no Galaxy installs, no schema refresh, no version check (CI has no web).
    result = _run("ansible-lint", "--offline", "--profile", "production", "playbooks/")
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_strict() -> None:
    result = _run("yamllint", "--strict", "playbooks", "templates", ".yamllint", ".ansible-lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_skipped_lint_rule_says_why() -> None:
    lines = (ROOT / ".ansible-lint").read_text().splitlines()
    in_skips = False
    for number, line in enumerate(lines):
        if line.startswith(("skip_list:", "warn_list:")):
            in_skips = not line.rstrip().endswith("[]")
            continue
        if in_skips and line.startswith("  - "):
            assert "#" in line or lines[number - 1].strip().startswith("#"), (
                f".ansible-lint:{number + 1}: a skipped rule without a comment saying why"
            )
        elif in_skips and not line.startswith(" "):
            in_skips = False
