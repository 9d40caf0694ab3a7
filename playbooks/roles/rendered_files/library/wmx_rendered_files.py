#!/usr/bin/python
"""Install one role's rendered files on the host in one module run (wmx's own module).

The action plugin of the same name (../action_plugins/) reads the files from build/<host>/
on the controller, checks each against its manifest checksum and sends them here with the
manifest's mode, owner and group. This side, for each file in order: compares the
installed file (SHA-256, mode, owner, group) with the manifest's; when the content
differs, writes a temporary file beside the target with the right owner and mode, runs
the file's check command on it (if any), and renames it over the target; when only mode
or owner differ, sets them. Parent directories are made (0755 root) as needed. Files
that an earlier deploy installed for the role and the build no longer has (``stale``)
are removed. Check mode reports what would change and changes nothing; diffs are given
for files that are not secret. A secret file's content never appears in a result or
an error message.
"""

from __future__ import annotations

import base64
import contextlib
import grp
import hashlib
import os
import pwd
import shlex
import stat
import tempfile
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: wmx_rendered_files
short_description: Install the rendered files of one wmx role in one run
description:
  - Used through the action plugin of the same name, which sends the files' contents.
options:
  files:
    description: The files, in order (dest, mode, owner, group, secret, sha256, content).
    type: list
    elements: dict
    required: true
  validate:
    description: Target path to a command that checks a new file (%s is its path).
    type: dict
    default: {}
  stale:
    description: Paths of files the role installed before and no longer has.
    type: list
    elements: str
    default: []
author: wmx
"""

MAX_DIFF_BYTES = 104448  # what ansible.builtin.copy shows in a diff at most


def _sha256(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(65536), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def _text(data: bytes) -> str | None:
    if len(data) > MAX_DIFF_BYTES or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _ids(module: AnsibleModule, entry: dict[str, Any]) -> tuple[int, int, int]:
    try:
        uid = pwd.getpwnam(entry["owner"]).pw_uid
        gid = grp.getgrnam(entry["group"]).gr_gid
    except KeyError:
        if not module.check_mode:
            module.fail_json(
                msg=f"{entry['dest']}: no user {entry['owner']!r} or group {entry['group']!r} "
                "on this host (the role that installs the file creates them first)"
            )
        # A dry run before the role made them: the file would change (-1 matches no file).
        uid = gid = -1
    mode = str(entry["mode"])
    if not (mode.isdigit() and set(mode) <= set("01234567") and len(mode) <= 4):
        module.fail_json(msg=f"{entry['dest']}: mode {mode!r} is not an octal mode")
    return uid, gid, int(mode, 8)


def _directory(module: AnsibleModule, path: str, changed: list[str]) -> None:
    """``path`` and every missing parent exist; ``path`` is a directory 0755 root:root
    (as ansible.builtin.file with state=directory, mode 0755, owner root made it)."""
    missing: list[str] = []
    walk = path
    while not os.path.lexists(walk):
        missing.append(walk)
        walk = os.path.dirname(walk)
    if not os.path.isdir(walk):
        module.fail_json(msg=f"{walk} is not a directory")
    if missing:
        changed.append(path)
        if module.check_mode:
            return
        for directory in reversed(missing):
            os.mkdir(directory, 0o755)
            os.chown(directory, 0, 0)
            os.chmod(directory, 0o755)
        return
    info = os.stat(path)
    if (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) != (0, 0, 0o755):
        changed.append(path)
        if not module.check_mode:
            os.chown(path, 0, 0)
            os.chmod(path, 0o755)


def _replace(module: AnsibleModule, entry: dict[str, Any], data: bytes, check: str | None) -> None:
    uid, gid, mode = _ids(module, entry)
    dest = entry["dest"]
    directory, name = os.path.split(dest)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".wmx-new", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fchown(stream.fileno(), uid, gid)
            os.fchmod(stream.fileno(), mode)
            os.fsync(stream.fileno())
        if check:
            # Split first, then put the path in: a name with a space or a quote stays
            # one argument.
            argv = [part.replace("%s", temporary) for part in shlex.split(check)]
            code, out, err = module.run_command(argv)
            if code != 0:
                said = (
                    "output hidden: a secret file"
                    if entry["secret"]
                    else (err or out).strip()[-2000:]
                )
                module.fail_json(msg=f"{dest}: the new file fails its check `{check}` ({said})")
        os.rename(temporary, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _install(
    module: AnsibleModule, entry: dict[str, Any], check: str | None, diffs: list[dict[str, Any]]
) -> bool:
    dest = entry["dest"]
    data = base64.b64decode(entry["content"])
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        module.fail_json(msg=f"{dest}: the content sent does not match its manifest checksum")
    uid, gid, mode = _ids(module, entry)
    try:
        info: os.stat_result | None = os.lstat(dest)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        module.fail_json(msg=f"{dest} is a directory; wmx installs a file there")
    regular = info is not None and stat.S_ISREG(info.st_mode)
    same_content = regular and _sha256(dest) == entry["sha256"]
    same_attributes = (
        regular
        and info is not None
        and (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (uid, gid, mode)
    )
    if same_content and same_attributes:
        return False
    if module._diff and not entry["secret"]:
        diffs.append(_diff(entry, data, info if regular else None, same_content, mode))
    if module.check_mode:
        return True
    if same_content:
        os.chown(dest, uid, gid)
        os.chmod(dest, mode)
    else:
        _replace(module, entry, data, check)
    return True


def _name(lookup: Any, number: int) -> str:
    try:
        return str(lookup(number)[0])
    except KeyError:
        return str(number)


def _diff(
    entry: dict[str, Any],
    data: bytes,
    info: os.stat_result | None,
    same_content: bool,
    mode: int,
) -> dict[str, Any]:
    dest = entry["dest"]
    if same_content and info is not None:
        owner = _name(pwd.getpwuid, info.st_uid)
        group = _name(grp.getgrgid, info.st_gid)
        return {
            "before_header": f"{dest} (mode, owner, group)",
            "after_header": f"{dest} (mode, owner, group)",
            "before": f"{stat.S_IMODE(info.st_mode):04o} {owner}:{group}\n",
            "after": f"{mode:04o} {entry['owner']}:{entry['group']}\n",
        }
    before = b""
    if info is not None:
        with open(dest, "rb") as handle:
            before = handle.read(MAX_DIFF_BYTES + 1)
    old, new = _text(before), _text(data)
    if old is None or new is None:
        return {
            "before_header": dest,
            "after_header": dest,
            "before": "(binary or large file)\n" if info is not None else "",
            "after": "(binary or large file)\n",
        }
    return {
        "before_header": dest if info is not None else "/dev/null",
        "after_header": dest,
        "before": old,
        "after": new,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "dest": {"type": "path", "required": True},
                    "mode": {"type": "str", "required": True},
                    "owner": {"type": "str", "required": True},
                    "group": {"type": "str", "required": True},
                    "secret": {"type": "bool", "required": True},
                    "sha256": {"type": "str", "required": True},
                    "content": {"type": "str", "required": True, "no_log": True},
                },
            },
            "validate": {"type": "dict", "default": {}},
            "stale": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    files: list[dict[str, Any]] = module.params["files"]
    checks: dict[str, str] = module.params["validate"] or {}
    # Stale paths come from wmx's record of an earlier deploy (converged.json on the
    # controller) and are deleted as root: held to the same rule as the files.
    for path in [entry["dest"] for entry in files] + module.params["stale"]:
        if not os.path.isabs(path) or os.path.normpath(path) != path:
            module.fail_json(msg=f"{path!r} is not a normalised absolute path")
    directories: list[str] = []
    for parent in sorted({os.path.dirname(entry["dest"]) for entry in files}):
        _directory(module, parent, directories)
    diffs: list[dict[str, Any]] = []
    changed = [
        entry["dest"]
        for entry in files
        if _install(module, entry, checks.get(entry["dest"]), diffs)
    ]
    removed = []
    for path in module.params["stale"]:
        if os.path.isfile(path) or os.path.islink(path):
            removed.append(path)
            if module._diff:
                diffs.append(
                    {
                        "before_header": path,
                        "after_header": "/dev/null",
                        "before": "(file)\n",
                        "after": "",
                    }
                )
            if not module.check_mode:
                os.unlink(path)
    result: dict[str, Any] = {
        "changed": bool(changed or directories or removed),
        "changed_files": changed,
        "directories": directories,
        "removed_files": removed,
    }
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
