"""The last deploy's record (.wmx/deployed/<host>/, the baseline of `wmx diff` and of the
next deploy's plan) is replaced whole or not at all (wmx.site.deployed.replace_tree), and
the converged record is written atomically."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from wmx.site.deployed import replace_tree


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _read(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_the_new_tree_replaces_the_old_and_carries_the_record_it_lacks(tmp_path: Path) -> None:
    build = _tree(tmp_path / "build", {"etc/a": "new a", ".wmx/manifest.json": "new"})
    target = _tree(
        tmp_path / "deployed" / "h",
        {
            "etc/a": "old a",
            "etc/gone": "x",
            ".wmx/manifest.json": "old",
            ".wmx/converged.json": "c",
        },
    )
    replace_tree(build, target, carry=[".wmx/converged.json"])
    assert _read(target) == {
        "etc/a": "new a",
        ".wmx/manifest.json": "new",
        ".wmx/converged.json": "c",
    }
    assert sorted(p.name for p in target.parent.iterdir()) == ["h"]


# Killed after the old tree was renamed away, before the new one took its place: the
# worst moment. Nothing may be lost: the next replace (or recovery) puts the old one back.
KILLED = """
import os, sys
from pathlib import Path
from wmx.site import deployed
real = os.rename
def rename(src, dst):
    real(src, dst)
    if str(dst).endswith(".old"):
        os.kill(os.getpid(), 9)
deployed.os.rename = rename
deployed.replace_tree(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def test_a_run_killed_mid_swap_loses_no_tree(tmp_path: Path) -> None:
    build = _tree(tmp_path / "build", {"etc/a": "new"})
    target = _tree(tmp_path / "deployed" / "h", {"etc/a": "old", ".wmx/converged.json": "c"})
    child = subprocess.run([sys.executable, "-c", KILLED, str(build), str(target)], timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert not target.exists()  # renamed away: its copy is beside it
    replace_tree(build, target, carry=[".wmx/converged.json"])
    # The old tree was put back first, so its record carried over into the new one.
    assert _read(target) == {"etc/a": "new", ".wmx/converged.json": "c"}
    assert sorted(p.name for p in target.parent.iterdir()) == ["h"]


def test_a_live_runs_copies_are_left_alone(tmp_path: Path) -> None:
    build = _tree(tmp_path / "build", {"a": "1"})
    target = tmp_path / "deployed" / "h"
    target.parent.mkdir()
    running = target.parent / f".h.{os.getppid()}.new"  # a run in progress (alive)
    running.mkdir()
    dead = target.parent / ".h.999999999.new"
    dead.mkdir()
    replace_tree(build, target)
    assert running.exists() and not dead.exists() and _read(target) == {"a": "1"}
