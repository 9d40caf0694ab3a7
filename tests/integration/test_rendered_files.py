"""The shared rendered_files role (playbooks/roles/rendered_files: its action plugin and
module wmx_rendered_files) on real files, through real ansible-playbook runs on localhost:
one task installs a role's files with the manifest's mode, owner and group, makes their
directories, changes only what differs, checks a new file before it replaces the old,
removes the role's stale files, notifies the role's handlers only on a change, and never
shows a secret file's content."""

from __future__ import annotations

import hashlib
import json
import os
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
SECRET = "s3cret-value-never-shown"


class Rig:
    """A build/localhost/ tree, its manifest entries and a play that installs them."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.build = tmp_path / "build"
        self.root = tmp_path / "root"
        self.entries: list[dict[str, Any]] = []
        self.stale: list[str] = []
        self.validate: dict[str, str] = {}
        self.marker = tmp_path / "handler-ran"

    def add(self, name: str, content: str, mode: str = "0644", *, secret: bool = False) -> Path:
        src = self.build / "localhost" / name
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(content)
        dest = self.root / name
        self.entries = [e for e in self.entries if e["dest"] != str(dest)]
        self.entries.append(
            {
                "component": "demo",
                "src": name,
                "dest": str(dest),
                "mode": mode,
                "owner": "root",
                "group": "daemon",
                "secret": secret,
                "sha256": hashlib.sha256(content.encode()).hexdigest(),
            }
        )
        return dest

    def run(self, *options: str) -> subprocess.CompletedProcess[str]:
        variables = {
            "wmx_build_dir": str(self.build),
            "wmx_files": {"demo": self.entries},
            "wmx_files_stale": {"demo": self.stale},
        }
        (self.tmp / "vars.json").write_text(json.dumps(variables))
        role = data_dir("playbooks") / "roles" / "rendered_files"
        play = self.tmp / "play.yml"
        play.write_text(
            f"""- hosts: localhost
  gather_facts: false
  tasks:
    - name: Install the demo role's files
      ansible.builtin.include_role:
        name: {role}
      vars:
        rendered_files_role: demo
        rendered_files_notify: [Mark]
        rendered_files_validate: {json.dumps(self.validate)}
    - name: Show what changed
      ansible.builtin.debug:
        msg: "CHANGED={{{{ rendered_files_installed.changed_files | to_json }}}}"
  handlers:
    - name: Mark
      ansible.builtin.file:
        path: {self.marker}
        state: touch
        mode: "0600"
"""
        )
        argv = [ANSIBLE_PLAYBOOK, "-i", str(INVENTORY), str(play), "-e", f"@{self.tmp}/vars.json"]
        return subprocess.run(
            [*argv, *options],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
        )


def _changed(done: subprocess.CompletedProcess[str]) -> list[str]:
    line = next(x for x in done.stdout.splitlines() if "CHANGED=" in x)
    return list(json.loads(line.split("CHANGED=", 1)[1].rstrip('"').replace('\\"', '"')))


def _attributes(path: Path) -> tuple[str, str, str]:
    info = path.stat()
    return (oct(stat.S_IMODE(info.st_mode)), str(info.st_uid), str(info.st_gid))


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    require_root("the files belong to root and group daemon")
    return Rig(tmp_path)


def test_first_install_then_nothing_changes(rig: Rig) -> None:
    plain = rig.add("etc/demo/deep/app.conf", "greeting = hello\n", "0640")
    secret = rig.add("etc/demo/secrets.conf", f"password = {SECRET}\n", "0600", secret=True)
    done = rig.run("--diff", "-v")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert plain.read_text() == "greeting = hello\n" and SECRET in secret.read_text()
    assert _attributes(plain) == ("0o640", "0", "1") and _attributes(secret)[0] == "0o600"
    for directory in (rig.root / "etc", rig.root / "etc/demo", plain.parent):
        assert _attributes(directory) == ("0o755", "0", "0")
    assert "+greeting = hello" in output  # the plain file's diff is shown
    assert SECRET not in output  # the secret's content is not, anywhere
    assert set(_changed(done)) == {str(plain), str(secret)}
    assert rig.marker.exists()  # the role's handler ran

    rig.marker.unlink()
    again = rig.run("--diff")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "changed=0" in again.stdout and _changed(again) == []
    assert not rig.marker.exists()


def test_only_what_differs_changes_and_check_mode_changes_nothing(rig: Rig) -> None:
    plain = rig.add("etc/demo/app.conf", "a = 1\n")
    other = rig.add("etc/demo/other.conf", "b = 2\n")
    assert rig.run().returncode == 0
    plain.chmod(0o666)
    rig.add("etc/demo/other.conf", "b = 3\n")
    checked = rig.run("--check", "--diff")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert set(_changed(checked)) == {str(plain), str(other)}
    assert "+b = 3" in checked.stdout and "-b = 2" in checked.stdout
    assert other.read_text() == "b = 2\n" and _attributes(plain)[0] == "0o666"
    assert "-0666 root:daemon" in checked.stdout and "+0644 root:daemon" in checked.stdout
    done = rig.run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(_changed(done)) == {str(plain), str(other)}
    assert other.read_text() == "b = 3\n" and _attributes(plain)[0] == "0o644"
    # A dry run before the role made the file's user: it would change, nothing fails.
    rig.entries[0]["owner"] = "wmx-no-such-user"
    dry = rig.run("--check")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert _changed(dry) == [str(plain)] and _attributes(plain)[1] == "0"
    refused = rig.run()
    assert refused.returncode != 0 and "no user 'wmx-no-such-user'" in refused.stdout


def test_a_new_file_that_fails_its_check_never_replaces_the_old(rig: Rig) -> None:
    plain = rig.add("etc/demo/app.conf", "ok\n")
    secret = rig.add("etc/demo/key.conf", f"ok {SECRET}\n", "0600", secret=True)
    # The secret's check prints the file it checks: its output must still not be shown.
    loud = 'sh -c \'cat "$0" >&2; grep -q ^ok "$0"\' %s'
    rig.validate = {str(plain): "grep -q ^ok %s", str(secret): loud}
    assert rig.run().returncode == 0
    rig.add("etc/demo/app.conf", "broken\n")
    failed = rig.run()
    assert failed.returncode != 0
    assert "app.conf: the new file fails its check" in failed.stdout
    assert plain.read_text() == "ok\n"
    rig.add("etc/demo/app.conf", "ok\n")
    rig.add("etc/demo/key.conf", f"bad {SECRET}\n", "0600", secret=True)
    hidden = rig.run("-vvv")
    assert hidden.returncode != 0 and "key.conf: the new file fails its check" in hidden.stdout
    assert SECRET not in hidden.stdout + hidden.stderr
    assert secret.read_text() == f"ok {SECRET}\n"
    assert sorted(p.name for p in plain.parent.iterdir()) == ["app.conf", "key.conf"]


def test_stale_files_are_removed_and_a_changed_build_is_refused(rig: Rig) -> None:
    kept = rig.add("etc/demo/app.conf", "a\n")
    old = rig.root / "etc/demo/old.conf"
    assert rig.run().returncode == 0
    old.write_text("left by an earlier deploy\n")
    rig.stale = [str(old)]
    done = rig.run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert not old.exists() and kept.exists()
    assert _changed(done) == [] and rig.marker.exists()  # a removal notifies the handler

    (rig.build / "localhost/etc/demo/app.conf").write_text("edited after wmx planned\n")
    refused = rig.run()
    assert refused.returncode != 0
    assert "etc/demo/app.conf differs from its manifest entry" in refused.stdout
    assert kept.read_text() == "a\n"


def test_a_checked_file_whose_name_has_a_space_is_one_argument(rig: Rig) -> None:
    spaced = rig.add("etc/demo/my app.conf", "ok\n")
    rig.validate = {str(spaced): "grep -q ^ok %s"}
    done = rig.run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert spaced.read_text() == "ok\n"


def test_a_stale_path_that_is_not_absolute_and_normalised_is_refused(rig: Rig) -> None:
    kept = rig.add("etc/demo/app.conf", "a\n")
    assert rig.run().returncode == 0
    victim = rig.root / "etc/demo/victim.conf"
    victim.write_text("not wmx's\n")
    for path in ("etc/demo/victim.conf", f"{rig.root}/etc/demo/../demo/victim.conf"):
        rig.stale = [path]
        refused = rig.run()
        assert refused.returncode != 0 and "is not a normalised absolute path" in refused.stdout
        assert victim.exists() and kept.exists()


def test_a_file_the_role_writes_itself_goes_in_the_same_run(rig: Rig) -> None:
    """An entry with its content instead of a build file (nginx's listen lines for its
    Debian release): installed beside the rendered files, then left alone."""
    plain = rig.add("etc/demo/app.conf", "include snippet.conf;\n")
    snippet = rig.root / "etc/demo/snippet.conf"
    literal = {"dest": str(snippet), "content": "listen 443;\n", "owner": "root"}
    rig.entries.append({**literal, "group": "root", "mode": "0644"})
    done = rig.run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert snippet.read_text() == "listen 443;\n" and _attributes(snippet)[0] == "0o644"
    assert set(_changed(done)) == {str(plain), str(snippet)}
    again = rig.run()
    assert again.returncode == 0 and _changed(again) == [], again.stdout

    rig.entries[-1] = literal  # no mode nor group: refused, naming what it needs
    refused = rig.run()
    assert refused.returncode != 0
    assert "a literal entry needs content, dest, mode, owner, group" in refused.stdout
