"""Controller side of wmx_rendered_files: one round trip installs a role's rendered files.

Reads each entry's ``src`` under ``build`` (build/<host>/, on the controller), refuses a
file whose SHA-256 is not the manifest's (the build changed after wmx planned the run),
and runs the module (../library/wmx_rendered_files.py) once with every file's content,
secret files first. An entry with ``content`` instead of ``src`` and ``sha256`` is a
file the role writes itself (never secret), e.g. nginx's listen lines for its release.
The module's arguments (which hold the contents) are dropped from the result: only the
changed paths, the directories made and the diffs of files that are not secret come back.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

ENTRY_KEYS = ("src", "dest", "mode", "owner", "group", "secret", "sha256")
# A file the role writes itself (not from the build, never secret): its content given.
LITERAL_KEYS = ("content", "dest", "mode", "owner", "group")


def _source(build: str, entry: dict[str, Any]) -> bytes:
    src = str(entry["src"])
    path = os.path.realpath(os.path.join(build, src))
    if os.path.isabs(src) or not path.startswith(os.path.realpath(build) + os.sep):
        raise AnsibleActionFail(f"{src!r} is outside the host's build directory")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise AnsibleActionFail(
            f"build file {src} cannot be read ({error.strerror}); run `wmx render`"
        ) from None
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise AnsibleActionFail(
            f"build file {src} differs from its manifest entry (the build changed after "
            "wmx planned this run); run `wmx deploy` again"
        )
    return data


class ActionModule(ActionBase):  # type: ignore[misc]
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("build", "entries", "validate", "stale"))

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        args = self._task.args
        build = args.get("build")
        entries = args.get("entries") or []
        if not isinstance(build, str) or not os.path.isabs(build):
            raise AnsibleActionFail("build must be an absolute path (build/<host>/)")
        if not isinstance(entries, list):
            raise AnsibleActionFail("entries must be a list of manifest entries")
        files = []
        for entry in sorted(entries, key=lambda item: not item.get("secret")):
            if isinstance(entry, dict) and "src" not in entry and "content" in entry:
                if any(key not in entry for key in LITERAL_KEYS):
                    raise AnsibleActionFail(f"a literal entry needs {', '.join(LITERAL_KEYS)}")
                data = str(entry["content"]).encode("utf-8")
                entry = {**entry, "secret": False, "sha256": hashlib.sha256(data).hexdigest()}
            elif not isinstance(entry, dict) or any(key not in entry for key in ENTRY_KEYS):
                raise AnsibleActionFail(f"a manifest entry needs {', '.join(ENTRY_KEYS)}")
            else:
                data = _source(build, entry)
            files.append(
                {
                    "dest": str(entry["dest"]),
                    "mode": str(entry["mode"]),
                    "owner": str(entry["owner"]),
                    "group": str(entry["group"]),
                    "secret": bool(entry["secret"]),
                    "sha256": str(entry["sha256"]),
                    "content": base64.b64encode(data).decode("ascii"),
                }
            )
        if not files and not args.get("stale"):
            result.update(changed=False, changed_files=[], directories=[], removed_files=[])
            return result
        module_args = {
            "files": files,
            "validate": {str(k): str(v) for k, v in (args.get("validate") or {}).items()},
            "stale": [str(path) for path in args.get("stale") or []],
        }
        outcome = self._execute_module(
            module_name="wmx_rendered_files", module_args=module_args, task_vars=task_vars
        )
        outcome.pop("invocation", None)
        result.update(outcome)
        return result
