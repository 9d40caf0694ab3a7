#!/usr/bin/python
"""Remove the virtual environments another Python made, in one module run (wmx's own
module, the shared role ``release_venvs``): was three tasks (a stat of each venv
directory, a find of the venvs in those that exist, a stat of each venv's interpreter),
about 1.7 s of every deploy whatever it changed.

A venv runs the interpreter it was made with: after a Debian release upgrade (12 → 13:
Python 3.11 → 3.13) the venvs of Synapse and the IRC bridge point at one that is gone.
Each directory directly under one of ``parents`` (a symbolic link, such as Synapse's
``current``, is not followed and stays; a hidden one stays too) that has no
``bin/python<python>`` entry (a link counts, as ``ansible.builtin.stat`` counts it
without following it) is removed with its contents; the parents themselves stay, and a
parent that does not exist yet (before a first deploy) is no error; one that cannot be
listed fails the run, naming it. Check mode reports what would go and removes nothing.
"""

from __future__ import annotations

import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: wmx_release_venvs
short_description: Remove the virtual environments that another Python than the release's made
options:
  parents:
    description: The directories that hold the venvs, one venv per directory in them.
    type: list
    elements: path
    required: true
  python:
    description: The release's Python version, major.minor (bin/python<python> must exist).
    type: str
    required: true
author: wmx
"""


def _stale(module: AnsibleModule, parent: str, python: str) -> list[str]:
    """The venv directories under ``parent`` without ``bin/python<python>`` (hidden ones
    left, as ``ansible.builtin.find`` left them)."""
    try:
        entries = sorted(os.scandir(parent), key=lambda entry: entry.name)
    except FileNotFoundError:
        return []
    except OSError as error:
        module.fail_json(msg=f"{parent}: cannot list its venvs ({error.strerror})")
    return [
        entry.path
        for entry in entries
        if not entry.name.startswith(".")
        and entry.is_dir(follow_symlinks=False)
        and not os.path.lexists(os.path.join(entry.path, "bin", f"python{python}"))
    ]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "parents": {"type": "list", "elements": "path", "required": True},
            "python": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    python = module.params["python"]
    if not re.fullmatch(r"3\.[0-9]{1,2}", python):
        module.fail_json(msg=f"python: {python!r} is not a Python 3 version (major.minor)")
    parents = module.params["parents"]
    if not all(os.path.isabs(parent) for parent in parents):
        module.fail_json(msg=f"parents {parents!r}: each must be an absolute path")
    removed = [p for parent in dict.fromkeys(parents) for p in _stale(module, parent, python)]
    if not module.check_mode:
        for path in removed:
            shutil.rmtree(path)
    module.exit_json(changed=bool(removed), removed=removed)


if __name__ == "__main__":
    main()
