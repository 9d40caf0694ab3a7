"""Running playbooks through ansible-runner, with progress, a recap and safe failures.

- :func:`run_playbook` runs one playbook in its own private data dir and returns a
  :class:`RunResult`; :func:`check_syntax` parses one without running it.
- :func:`ansible_env` is the Ansible environment wmx sets for both.

See ``docs/runner.md`` for how runs are stored and how secrets are kept out of them.
"""

from __future__ import annotations

from wmx.run.environment import ansible_env, ansible_playbook_executable
from wmx.run.errors import RunError, RunSetupError, SecretFileError
from wmx.run.results import CONTROLLER, HostStats, RunResult, SyntaxCheck, TaskFailure
from wmx.run.runner import run_playbook
from wmx.run.syntax import check_syntax

__all__ = [
    "CONTROLLER",
    "HostStats",
    "RunError",
    "RunResult",
    "RunSetupError",
    "SecretFileError",
    "SyntaxCheck",
    "TaskFailure",
    "ansible_env",
    "ansible_playbook_executable",
    "check_syntax",
    "run_playbook",
]
