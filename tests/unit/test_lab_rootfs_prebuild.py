"""tests/e2e/rootfs_prebuild.py, which scripts/test runs in the background before its e2e
tiers: every release asked for is built in order, a failure is one
line and exit status 1 and does not stop the next release."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e import rootfs_prebuild
from wmx.lab import Lab, LabError, commands, rootfs
from wmx.lab.paths import LabPaths


def _lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, root: bool = True) -> Lab:
    def require_root() -> None:
        if not root:
            raise LabError("needs root")

    monkeypatch.setattr(Lab, "require_root", staticmethod(require_root))
    monkeypatch.setattr(commands, "missing_tools", lambda: [])
    return Lab(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")


def test_builds_each_release_in_order_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built: list[str] = []

    def ensure(paths: LabPaths, progress: Callable[[str], None], suite: str) -> Path:
        assert paths.cache_dir == tmp_path / "cache"
        progress("Building")
        built.append(suite)
        return paths.rootfs(suite)

    monkeypatch.setattr(rootfs, "ensure_rootfs", ensure)
    assert rootfs_prebuild.prebuild(["trixie", "bookworm"], _lab(tmp_path, monkeypatch)) == 0
    assert built == ["trixie", "bookworm"]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "rootfs trixie: Building"
    assert lines[1].startswith("rootfs trixie: ready after ")
    assert lines[3].startswith("rootfs bookworm: ready after ")


def test_a_failed_build_is_one_line_and_the_next_release_still_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built: list[str] = []

    def ensure(paths: LabPaths, progress: Callable[[str], None], suite: str) -> Path:
        if suite == "trixie":
            raise LabError("debootstrap failed with exit status 1")
        built.append(suite)
        return paths.rootfs(suite)

    monkeypatch.setattr(rootfs, "ensure_rootfs", ensure)
    assert rootfs_prebuild.prebuild(["trixie", "bookworm"], _lab(tmp_path, monkeypatch)) == 1
    assert built == ["bookworm"]
    out = capsys.readouterr().out
    assert "rootfs trixie: not built (debootstrap failed with exit status 1)" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("release", ["sid", "trixie"])
def test_nothing_is_built_without_root_or_for_an_unknown_release(
    release: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An unknown release fails in ensure_rootfs itself (wmx.debian's InputError).
    lab = _lab(tmp_path, monkeypatch, root=release == "sid")
    assert rootfs_prebuild.prebuild([release], lab) == 1
    assert f"rootfs {release}: not built (" in capsys.readouterr().out
    assert not (tmp_path / "cache").exists()
