"""A sudo password (secrets.yml: sudo_password) reaches sudo on the host's stdin and
Ansible as a file, never an argv (wmx.ssh.become; the lab proves it end to end in
tests/e2e/test_production.py)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.run.environment import ansible_env
from wmx.site import load_site
from wmx.site.topology import HostView
from wmx.ssh import become, connection

PASSWORD = "correct horse battery staple"


@pytest.fixture
def password() -> Iterator[Path]:
    become.use_password(PASSWORD)
    path = become.password_file()
    assert path is not None
    yield path
    become.forget()
    assert not path.exists() and not path.parent.exists()


def sudo_host() -> HostView:
    variables = {"ansible_user": "debian", "ansible_become": True, "ansible_host": "10.0.0.5"}
    return HostView("hs1", "10.0.0.5", ("homeserver",), vars=variables)


def test_the_password_file_is_private_and_only_its_path_is_in_any_argv(password: Path) -> None:
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert stat.S_IMODE(password.parent.stat().st_mode) == 0o700
    argv = connection(sudo_host()).command(["journalctl", "-u", "x"])
    assert PASSWORD not in " ".join(argv)
    assert argv[:4] == [sys.executable, "-I", str(become.FEED), str(password)]
    assert "debian@10.0.0.5" in argv and argv[-1].startswith("sh -c ")
    assert ansible_env({})["ANSIBLE_BECOME_PASSWORD_FILE"] == str(password)


def test_the_feed_sends_the_password_line_then_the_callers_input(password: Path) -> None:
    argv = connection(sudo_host()).command(["true"])
    # `cat` stands in for ssh: what the remote side would read on its stdin.
    local = [*argv[:4], "cat"]
    sent = subprocess.run(local, input="the caller's input\n", capture_output=True, text=True)
    assert sent.stdout == f"{PASSWORD}\nthe caller's input\n"
    # The command's status, and no waiting for an input that stays open (a terminal).
    reader, writer = os.pipe()
    try:
        done = subprocess.run([*argv[:4], "sh", "-c", "read p; exit 3"], stdin=reader, timeout=30)
    finally:
        os.close(reader)
        os.close(writer)
    assert done.returncode == 3


def test_without_a_password_sudo_never_waits(tmp_path: Path) -> None:
    become.forget()
    argv = connection(sudo_host()).command(["true"])
    assert argv[0] == "ssh" and argv[-1] == "sudo -n -u root -- true"
    root = HostView("hs1", "10.0.0.5", ("homeserver",), vars={"ansible_user": "root"})
    assert connection(root).command(["true"])[-1] == "true"
    assert "ANSIBLE_BECOME_PASSWORD_FILE" not in ansible_env({})


def test_secrets_sudo_password_stores_it_and_opening_the_site_uses_it(site_dir: Path) -> None:
    runner = CliRunner()
    stored = runner.invoke(
        app, ["--site", str(site_dir), "secrets", "sudo-password", "--stdin"], input="s3 cret\n"
    )
    assert stored.exit_code == 0, stored.output
    assert "s3 cret" not in stored.output
    assert load_site(site_dir).secrets.sudo_password == "s3 cret"
    cleared = runner.invoke(app, ["--site", str(site_dir), "secrets", "sudo-password", "--clear"])
    assert cleared.exit_code == 0, cleared.output
    assert load_site(site_dir).secrets.sudo_password == ""


def test_the_password_reaches_the_disk_only_when_a_command_asks_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `wmx config get` or `wmx render` open the site (and keep the password) but reach no
    # host: no copy of the password may be left in a temporary directory by them.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    become.use_password(PASSWORD)
    try:
        assert list(tmp_path.iterdir()) == []
        path = become.password_file()
        assert path is not None and path.parent.parent == tmp_path
        assert path.read_text() == PASSWORD + "\n" and path.stat().st_mode & 0o077 == 0
        assert become.password_file() == path  # one file per process
    finally:
        become.forget()
    assert list(tmp_path.iterdir()) == [] and become.password_file() is None
