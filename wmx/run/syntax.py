"""``ansible-playbook --syntax-check``, with the same Ansible and settings as a run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from wmx.run.environment import ansible_env, ansible_playbook_executable
from wmx.run.no_log import plain_text
from wmx.run.results import SyntaxCheck


def check_syntax(playbook: Path, inventory: Path) -> SyntaxCheck:
    """Parse ``playbook`` (and the roles and files it includes) without running it."""
    playbook = playbook.resolve()
    completed = subprocess.run(
        [
            str(ansible_playbook_executable()),
            "--syntax-check",
            "-i",
            str(inventory.resolve()),
            str(playbook),
        ],
        cwd=playbook.parent,
        env={**os.environ, **ansible_env()},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    output = plain_text("\n".join(part for part in (completed.stdout, completed.stderr) if part))
    return SyntaxCheck(ok=completed.returncode == 0, rc=completed.returncode, output=output.strip())
