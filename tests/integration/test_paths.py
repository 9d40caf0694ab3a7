"""The shared paths role (playbooks/roles/paths: its module wmx_paths) on real
directories, through real ansible-playbook runs on localhost: one task makes a role's
directories with their parents, owner, group and mode, removes its leftovers, changes
only what differs (a second run reports nothing changed), leaves an owner it is not given
as it is, reports without changing in check mode, and stops on a path that is no
directory, naming it; it makes a role's system user in its own group first (owning its
directories in the same run) and sets a changed home or shell."""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_root
from wmx.resources import data_dir

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

INVENTORY = Path(__file__).parent / "playbooks" / "inventory.yml"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


def _run(
    tmp_path: Path,
    entries: list[dict[str, Any]],
    *options: str,
    users: list[dict[str, Any]] | None = None,
) -> tuple[int, str]:
    (tmp_path / "vars.json").write_text(json.dumps({"entries": entries, "users": users or []}))
    play = tmp_path / "play.yml"
    play.write_text(
        f"""- hosts: localhost
  gather_facts: false
  tasks:
    - name: Make the demo role's paths
      ansible.builtin.include_role:
        name: {data_dir("playbooks") / "roles" / "paths"}
      vars:
        paths_entries: "{{{{ entries }}}}"
        paths_users: "{{{{ users }}}}"
        paths_notify: [Mark]
  handlers:
    - name: Mark
      ansible.builtin.file:
        path: {tmp_path / "handler-ran"}
        state: touch
        mode: "0600"
"""
    )
    done = subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            "-i",
            str(INVENTORY),
            str(play),
            "-e",
            f"@{tmp_path}/vars.json",
            *options,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )
    return done.returncode, done.stdout + done.stderr


def _changed(output: str) -> bool:
    """Whether the role's one task reported a change (the handler, which also runs in a
    dry run, counts apart)."""
    found = re.search(r"paths : Make the directories[^\n]*\n(changed|ok): ", output)
    assert found, output
    return found.group(1) == "changed"


def _attributes(path: Path) -> tuple[str, int, int]:
    info = path.stat()
    return (oct(stat.S_IMODE(info.st_mode)), info.st_uid, info.st_gid)


def test_directories_and_leftovers_in_one_run_then_nothing_changes(tmp_path: Path) -> None:
    require_root("the directories belong to root and group daemon")
    root = tmp_path / "root"
    (root / "old" / "inside").mkdir(parents=True)
    (root / "old.sql").write_text("SELECT 1;\n")
    entries = [
        {
            "path": str(root / "var/lib/demo/media"),
            "owner": "root",
            "group": "daemon",
            "mode": "0750",
        },
        {"path": str(root / "opt/demo"), "owner": "root", "group": "root", "mode": "0755"},
        {"path": str(root / "old"), "state": "absent"},
        {"path": str(root / "old.sql"), "state": "absent"},
    ]
    code, output = _run(tmp_path, entries, "--check")
    assert code == 0, output
    assert _changed(output) and not (root / "var").exists() and (root / "old").exists()

    code, output = _run(tmp_path, entries)
    assert code == 0, output
    assert _changed(output) and (tmp_path / "handler-ran").exists()
    # The missing parents are made like the directory itself, as the file module does.
    for directory in ("var", "var/lib", "var/lib/demo", "var/lib/demo/media"):
        assert _attributes(root / directory) == ("0o750", 0, 1), directory
    assert _attributes(root / "opt/demo") == ("0o755", 0, 0)
    assert not (root / "old").exists() and not (root / "old.sql").exists()

    (tmp_path / "handler-ran").unlink()
    code, output = _run(tmp_path, entries)
    assert code == 0, output
    assert "changed=0" in output and not _changed(output)
    assert not (tmp_path / "handler-ran").exists()

    # Only what differs changes; an owner not given is left as it is.
    os.chmod(root / "opt/demo", 0o700)
    os.chown(root / "opt/demo", 0, 1)
    code, output = _run(tmp_path, [{"path": str(root / "opt/demo"), "mode": "0755"}])
    assert code == 0, output
    assert _changed(output) and _attributes(root / "opt/demo") == ("0o755", 0, 1)


def test_a_path_that_is_no_directory_stops_the_run_naming_it(tmp_path: Path) -> None:
    require_root("the directories belong to root")
    (tmp_path / "file").write_text("not a directory\n")
    code, output = _run(tmp_path, [{"path": str(tmp_path / "file" / "sub")}])
    assert code != 0
    assert f"{tmp_path / 'file'} exists and is not a directory" in output
    code, output = _run(tmp_path, [{"path": "relative/path"}])
    assert code != 0 and "not an absolute, normalised path" in output
    code, output = _run(tmp_path, [{"path": str(tmp_path / "d"), "owner": "no-such-user-wmx"}])
    assert code != 0 and "no user 'no-such-user-wmx'" in output


def test_a_system_user_and_its_group_first_then_its_directories(tmp_path: Path) -> None:
    require_root("it makes a system user and group on this machine (removed afterwards)")
    name = f"wmxt{os.getpid() % 100000}"
    home = tmp_path / "home"
    users = [{"name": name, "home": str(home), "shell": "/usr/sbin/nologin"}]
    entries = [{"path": str(home), "owner": name, "group": name, "mode": "0750"}]
    try:
        code, output = _run(tmp_path, entries, "--check", users=users)
        assert code == 0, output
        assert _changed(output) and not home.exists()
        with pytest.raises(KeyError):
            pwd.getpwnam(name)

        code, output = _run(tmp_path, entries, users=users)
        assert code == 0, output
        user = pwd.getpwnam(name)
        assert user.pw_dir == str(home) and user.pw_shell == "/usr/sbin/nologin"
        assert user.pw_gid == grp.getgrnam(name).gr_gid and user.pw_uid < 1000  # system
        assert _attributes(home) == ("0o750", user.pw_uid, user.pw_gid)

        code, output = _run(tmp_path, entries, users=users)
        assert code == 0 and not _changed(output), output

        users[0]["shell"] = "/bin/sh"
        code, output = _run(tmp_path, entries, users=users)
        assert code == 0 and _changed(output), output
        assert pwd.getpwnam(name).pw_shell == "/bin/sh"

        code, output = _run(tmp_path, [], users=[{"name": "bad name", "home": "/x"}])
        assert code != 0 and "user 'bad name': not a user name" in output
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)
        subprocess.run(["groupdel", name], capture_output=True, check=False)


def test_a_link_is_made_replaced_when_it_points_elsewhere_and_never_over_a_file(
    tmp_path: Path,
) -> None:
    require_root("the paths role runs as root")
    link = tmp_path / "conf.d" / "wmx.conf"
    link.parent.mkdir()
    entries = [{"path": str(link), "state": "link", "src": "/etc/wmx/a.conf"}]
    code, output = _run(tmp_path, entries, "--check")
    assert code == 0 and _changed(output) and not link.is_symlink(), output
    code, output = _run(tmp_path, entries)
    assert code == 0 and _changed(output), output
    assert os.readlink(link) == "/etc/wmx/a.conf"
    code, output = _run(tmp_path, entries)
    assert code == 0 and not _changed(output), output

    entries[0]["src"] = "/etc/wmx/b.conf"
    code, output = _run(tmp_path, entries)
    assert code == 0 and _changed(output) and os.readlink(link) == "/etc/wmx/b.conf", output
    assert sorted(p.name for p in link.parent.iterdir()) == ["wmx.conf"]  # no temporary left

    link.unlink()
    link.write_text("a file\n")
    code, output = _run(tmp_path, entries)
    assert code != 0 and f"{link} exists and is not a symbolic link" in output
    code, output = _run(tmp_path, [{"path": str(link), "state": "link"}])
    assert code != 0 and "a link needs src" in output
