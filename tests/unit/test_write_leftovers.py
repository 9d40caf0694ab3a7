"""What a killed or failed writer leaves in a site never lies there for `git add`: the
site's .gitignore covers it, and the next write in its directory removes a temporary file
whose writer is gone. A build/ that cannot be moved aside is one line, and a lock file is
never opened through a link planted in its place."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import wmx.render.build_tree
from tests.conftest import require_root
from wmx.cli import app
from wmx.errors import InputError
from wmx.site.yamlfile import locked, read_text, write_atomically

# A writer killed after it wrote its temporary file, before the rename.
KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from wmx.site.yamlfile import write_atomically
def fill(handle):
    handle.write(b"every secret\\n")
    handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)
write_atomically(Path(sys.argv[1]), fill, 0o600, keep_mode=False)
"""


def _killed_writer(path: Path) -> Path:
    """The temporary file a writer of `path`, killed midway, left."""
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], check=False)
    assert done.returncode == -signal.SIGKILL
    (left,) = path.parent.glob(f".{path.name}.*.tmp")
    return left


def _ignored(site: Path, *names: str) -> list[str]:
    subprocess.run(["git", "init", "-q", str(site)], check=True)
    done = subprocess.run(
        ["git", "-C", str(site), "check-ignore", *names], capture_output=True, text=True
    )
    return done.stdout.split()


def test_the_site_gitignore_covers_what_killed_writers_leave(site_dir: Path) -> None:
    left = _killed_writer(site_dir / "secrets.yml")
    for tree in (".build.tmp", ".build.old"):
        (site_dir / tree / "matrix").mkdir(parents=True)
        (site_dir / tree / "matrix/secrets.yaml").write_text("every secret\n")
    names = [left.name, ".build.tmp/matrix/secrets.yaml", ".build.old/matrix/secrets.yaml"]
    assert _ignored(site_dir, *names) == names


def test_a_write_removes_dead_temporaries_of_other_files_in_its_directory(
    site_dir: Path,
) -> None:
    left = _killed_writer(site_dir / "secrets.yml")
    read_text(site_dir / "wmx.yaml")  # a read writes nothing, removes nothing
    assert left.exists()
    write_atomically(site_dir / "inventory.yml", read_text(site_dir / "inventory.yml"))
    assert not left.exists()


def test_a_temporary_of_a_live_writer_stays_and_one_of_a_reused_pid_goes(
    site_dir: Path,
) -> None:
    mine = site_dir / f".secrets.yml.{os.getpid()}.0123abcd.tmp"
    mine.write_text("being written\n")
    with subprocess.Popen(["sleep", "60"]) as later:
        try:
            # Named after a process that started after the file was last written: not
            # its writer, whose number that process was given.
            reused = site_dir / f".wmx.yaml.{later.pid}.0123abcd.tmp"
            reused.write_text("every secret\n")
            hour_ago = time.time() - 3600
            os.utime(reused, (hour_ago, hour_ago))
            write_atomically(site_dir / "inventory.yml", read_text(site_dir / "inventory.yml"))
        finally:
            later.kill()
    assert mine.exists()
    assert not reused.exists()


def test_another_users_temporary_stays(site_dir: Path) -> None:
    """A temporary file of another user's run (a site shared between accounts, or over
    NFS from another machine, whose processes are out of sight) is not this run's to
    remove, whatever its number says."""
    require_root("to give a file to another user")
    left = _killed_writer(site_dir / "secrets.yml")
    os.chown(left, 65534, 65534)
    write_atomically(site_dir / "inventory.yml", read_text(site_dir / "inventory.yml"))
    assert left.exists()


def test_a_build_that_cannot_be_moved_aside_is_one_line_and_kept(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--site", str(site_dir), "render"]).exit_code == 0
    build = site_dir / "build"
    before = {p: p.read_bytes() for p in build.rglob("*") if p.is_file()}
    # A .build.old that cannot be removed (a file in it that is not the user's): the
    # rename of build/ onto it fails (ENOTEMPTY).
    (site_dir / ".build.old/x").mkdir(parents=True)
    (site_dir / ".build.old/x/f").write_text("")
    real = wmx.render.build_tree._remove
    kept = lambda path: None if path.name == ".build.old" else real(path)  # noqa: E731
    monkeypatch.setattr(wmx.render.build_tree, "_remove", kept)
    result = runner.invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"error: {build}: cannot be written (Directory not empty); it was left as it was"
    ]
    assert not (site_dir / ".build.tmp").exists()
    assert {p: p.read_bytes() for p in build.rglob("*") if p.is_file()} == before


def test_a_lock_file_is_never_opened_through_a_link(site_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    lock = site_dir / ".wmx.yaml.lock"
    lock.symlink_to(outside)
    result = CliRunner().invoke(
        app, ["--site", str(site_dir), "config", "set", "synapse.max_upload_size_mb", "10"]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: {lock}: a symbolic link, where wmx keeps a lock file of its own; remove it"
    ]
    assert not outside.exists()


def test_a_lock_file_that_is_a_fifo_is_refused_not_waited_on(site_dir: Path) -> None:
    lock = site_dir / ".secrets.yml.lock"
    os.mkfifo(lock)
    with (
        pytest.raises(InputError, match=r"\.secrets\.yml\.lock: is a FIFO"),
        locked(site_dir / "secrets.yml"),
    ):
        pass
