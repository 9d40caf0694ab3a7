#!/usr/bin/python
"""Make a role's system users, its directories and remove its leftover paths in one module
run (wmx's own module, the shared role ``paths``): was one ``ansible.builtin.group`` and one
``ansible.builtin.user`` run per user and one ``ansible.builtin.file`` run per path.

First each of ``users`` (name, home, shell): its system group of the same name, then the
system user in it with that home (not created: a directory entry makes it) and shell,
made with groupadd/useradd, or set with usermod where its home, shell or group differ
(as ansible.builtin.group and ansible.builtin.user with ``system: true`` do).

For each entry in order: ``state: directory`` makes the directory and every missing
parent with the entry's owner, group and mode (as ansible.builtin.file does; an owner or
group not given is left as it is, root's on a new directory), or sets them on an
existing directory where they differ (a symlink to a directory is followed,
as the file module does by default); a path that exists and is no directory fails the
run, naming it. ``state: link`` makes the path a symbolic link to ``src`` (replacing
one that points elsewhere, atomically; a path there that is no link fails the run).
``state: absent`` removes the path (a directory with its contents) if
it exists. Check mode reports what would change and changes nothing.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: wmx_paths
short_description: Make system users and directories and remove paths of one wmx role in one run
options:
  users:
    description: System users, each in its own group (name, home, shell).
    type: list
    elements: dict
    default: []
  paths:
    description: The entries, in order (path, state, owner, group, mode).
    type: list
    elements: dict
    required: true
author: wmx
"""


def _ids(module: AnsibleModule, entry: dict[str, Any]) -> tuple[int, int, int]:
    """uid, gid (-1: left as it is, as the file module leaves an owner it is not given)
    and mode of an entry."""
    path, owner, group = entry["path"], entry.get("owner"), entry.get("group")
    mode = str(entry.get("mode", "0755"))
    if not (mode.isdigit() and set(mode) <= set("01234567") and len(mode) <= 4):
        module.fail_json(msg=f"{path}: mode {mode!r} is not an octal mode")
    try:
        uid = -1 if owner is None else pwd.getpwnam(owner).pw_uid
        gid = -1 if group is None else grp.getgrnam(group).gr_gid
    except KeyError:
        if not module.check_mode:
            module.fail_json(
                msg=f"{path}: no user {owner!r} or group {group!r} on this host "
                "(the role creates them first)"
            )
        # A dry run before the role made them: the directory would change.
        return -2, -2, int(mode, 8)
    return uid, gid, int(mode, 8)


def _directory(module: AnsibleModule, entry: dict[str, Any]) -> bool:
    path = entry["path"]
    uid, gid, mode = _ids(module, entry)
    missing: list[str] = []
    walk = path
    while not os.path.lexists(walk):
        missing.append(walk)
        walk = os.path.dirname(walk)
    if not os.path.isdir(walk):
        module.fail_json(msg=f"{walk} exists and is not a directory")
    if missing:
        if not module.check_mode:
            for directory in reversed(missing):
                os.mkdir(directory, mode)
                os.chown(directory, uid, gid)
                os.chmod(directory, mode)
        return True
    info = os.stat(path)
    if uid in (-1, info.st_uid) and gid in (-1, info.st_gid) and stat.S_IMODE(info.st_mode) == mode:
        return False
    if not module.check_mode:
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return True


def _run(module: AnsibleModule, argv: list[str]) -> None:
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg=f"{' '.join(argv)} failed: {(err or out).strip()}")


def _user(module: AnsibleModule, entry: dict[str, Any]) -> list[str]:
    """Make or set one system user and its group; what changed."""
    name, home = str(entry.get("name") or ""), str(entry.get("home") or "")
    shell = str(entry.get("shell") or "/usr/sbin/nologin")
    if not name.replace("-", "").replace("_", "").isalnum():
        module.fail_json(msg=f"user {name!r}: not a user name")
    if not os.path.isabs(home):
        module.fail_json(msg=f"user {name}: home {home!r} is not an absolute path")
    changed: list[str] = []
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        changed.append(f"group {name}")
        if module.check_mode:
            return [*changed, f"user {name}"]
        _run(module, ["groupadd", "--system", name])
        gid = grp.getgrnam(name).gr_gid
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        changed.append(f"user {name}")
        if not module.check_mode:
            made = ["--gid", name, "--home-dir", home, "--no-create-home", "--shell", shell]
            _run(module, ["useradd", "--system", *made, name])
        return changed
    options: list[str] = []
    if user.pw_dir != home:
        options += ["--home", home]
    if user.pw_shell != shell:
        options += ["--shell", shell]
    if user.pw_gid != gid:
        options += ["--gid", name]
    if options:
        changed.append(f"user {name}")
        if not module.check_mode:
            _run(module, ["usermod", *options, name])
    return changed


def _link(module: AnsibleModule, path: str, target: object) -> bool:
    """A symbolic link to ``target`` (replaced with rename(2) when it points elsewhere); a
    path there that is no link fails the run, naming it."""
    src = target if isinstance(target, str) else ""
    if not src:
        module.fail_json(msg=f"{path}: a link needs src")
    if os.path.islink(path) and os.readlink(path) == src:
        return False
    if os.path.lexists(path) and not os.path.islink(path):
        module.fail_json(msg=f"{path} exists and is not a symbolic link")
    if not module.check_mode:
        temporary = f"{path}.wmx-{os.getpid()}"
        os.symlink(src, temporary)
        os.replace(temporary, path)
    return True


def _absent(module: AnsibleModule, path: str) -> bool:
    if not os.path.lexists(path):
        return False
    if not module.check_mode:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    return True


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "dict", "required": True},
            "users": {"type": "list", "elements": "dict", "default": []},
        },
        supports_check_mode=True,
    )
    changed: list[str] = []
    for user in module.params["users"]:
        changed.extend(_user(module, user))
    for entry in module.params["paths"]:
        path = entry.get("path")
        state = entry.get("state", "directory")
        if not isinstance(path, str) or not os.path.isabs(path) or os.path.normpath(path) != path:
            module.fail_json(msg=f"{path!r}: not an absolute, normalised path")
        if state == "directory":
            done = _directory(module, entry)
        elif state == "absent":
            done = _absent(module, path)
        elif state == "link":
            done = _link(module, path, entry.get("src"))
        else:
            module.fail_json(msg=f"{path}: state {state!r} is not directory, link or absent")
        if done:
            changed.append(path)
    module.exit_json(changed=bool(changed), changed_paths=changed)


if __name__ == "__main__":
    main()
