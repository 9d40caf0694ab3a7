"""Site files are replaced whole or not at all (wmx.site.yamlfile.write_atomically): a
disk that refuses the write is one line naming the file, the old file intact; a writer
killed mid-write leaves a temporary file (maybe a copy of secrets.yml) that the next write
of the same file removes."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.errors import WriteRefused
from wmx.site.secrets import load_secrets, store_secret
from wmx.site.yamlfile import write_atomically


def _refuse(code: int):  # type: ignore[no-untyped-def]
    def fsync(_fd: int) -> None:
        raise OSError(code, os.strerror(code))

    return fsync


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_a_refused_write_is_one_line_and_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    target = tmp_path / "wmx.yaml"
    target.write_text("old: 1\n")
    monkeypatch.setattr(os, "fsync", _refuse(code))
    with pytest.raises(WriteRefused, match=rf"wmx.yaml: cannot be written \({os.strerror(code)}\)"):
        write_atomically(target, "new: 2\n")
    assert target.read_text() == "old: 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wmx.yaml"]


def test_config_set_on_a_full_disk_says_so_in_one_line(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (site_dir / "wmx.yaml").read_bytes()
    monkeypatch.setattr(os, "fsync", _refuse(errno.ENOSPC))
    result = CliRunner().invoke(
        app, ["--site", str(site_dir), "config", "set", "synapse.log_level", "WARNING"]
    )
    assert result.exit_code == 1  # the disk's refusal, not the operator's input
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert (site_dir / "wmx.yaml").read_bytes() == before


def test_storing_a_secret_on_a_full_disk_keeps_every_secret(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = site_dir / "secrets.yml"
    before = path.read_bytes()
    monkeypatch.setattr(os, "fsync", _refuse(errno.ENOSPC))
    with pytest.raises(WriteRefused, match="No space left on device") as caught:
        store_secret(path, "sudo_password", "a new one")
    assert "a new one" not in str(caught.value)
    assert path.read_bytes() == before
    assert [p.name for p in site_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_a_disk_that_refuses_any_write_is_one_line_not_a_traceback(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `wmx render` writes its build tree itself: the CLI turns the OSError into one line.
    import wmx.render

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(site_dir / ".build.tmp"))

    monkeypatch.setattr(wmx.render, "plan_site", lambda _site: {})
    monkeypatch.setattr(wmx.render, "write_build", full)
    result = CliRunner().invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 1, result.output
    assert ".build.tmp: cannot be written (No space left on device)" in result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit: no traceback


def test_other_os_errors_still_show_where_they_happened(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wmx.render

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    monkeypatch.setattr(wmx.render, "plan_site", lambda _site: {})
    monkeypatch.setattr(wmx.render, "write_build", broken)
    result = CliRunner().invoke(app, ["--site", str(site_dir), "render"])
    assert isinstance(result.exception, OSError)  # a bug in wmx: not dressed as a user's


# A writer of secrets.yml killed after its temporary file is complete, before the rename.
KILLED = """
import os, sys
from wmx.site import yamlfile
from wmx.site.secrets import store_secret
def replace(src, dst, **dir_fds):  # names in the directory write_atomically opened
    print(os.path.join(os.path.dirname(sys.argv[1]), src), flush=True)
    os.kill(os.getpid(), 9)
yamlfile.os.replace = replace
store_secret(__import__("pathlib").Path(sys.argv[1]), "sudo_password", "killed mid-write")
"""


def test_a_writer_killed_mid_write_loses_nothing_and_its_copy_goes_at_the_next_write(
    site_dir: Path,
) -> None:
    path = site_dir / "secrets.yml"
    before = path.read_bytes()
    child = subprocess.run(
        [sys.executable, "-c", KILLED, str(path)], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == -signal.SIGKILL
    orphan = Path(child.stdout.strip())
    assert orphan.exists() and orphan.stat().st_mode & 0o077 == 0  # private, but a copy
    assert path.read_bytes() == before  # the old file, whole
    load_secrets(path)
    store_secret(path, "sudo_password", "the next write")
    assert not orphan.exists()
    assert load_secrets(path).sudo_password == "the next write"
