"""Secrets reach playbooks as paths to files, never as values.

Whatever is passed as an extra var is written by ansible-runner's convention into
the run's ``env/extravars`` and stays there with the run record; a value on the
command line would be visible in ``ps``. So a secret stays in its own file (the
site's ``secrets.yml``, mode 0600) and the playbook receives only the path, under a
variable name the caller picks, and reads it in ``no_log`` tasks::

    - name: Load the site's secrets
      ansible.builtin.include_vars:
        file: "{{ wmx_secrets_file }}"
      no_log: true
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

from wmx.run.errors import SecretFileError


def secret_file_vars(
    secret_files: Mapping[str, Path], extravars: Mapping[str, object]
) -> dict[str, Path]:
    """Check each secret file and return ``{variable: absolute path}`` for the playbook.

    The files must exist and be private to their owner (no group or other access):
    a secret that any local user can read is already leaked, and wmx would rather
    stop than deploy it.
    """
    checked: dict[str, Path] = {}
    for name, given in secret_files.items():
        if not name.isidentifier():
            raise SecretFileError(f"secret file variable {name!r} is not a valid variable name")
        if name in extravars:
            raise SecretFileError(f"{name!r} is given both as an extra var and as a secret file")
        path = given.expanduser().resolve()
        try:
            info = path.stat()
        except FileNotFoundError:
            raise SecretFileError(f"secret file {path} (for {name}) does not exist") from None
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(f"secret file {path} (for {name}) is not a regular file")
        if info.st_mode & 0o077:
            raise SecretFileError(
                f"secret file {path} (for {name}) has mode {stat.S_IMODE(info.st_mode):04o}; "
                f"other users can read it — run: chmod 600 {path}"
            )
        checked[name] = path
    return checked
