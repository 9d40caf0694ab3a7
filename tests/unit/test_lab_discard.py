"""wmx.lab.mounts.remove_tree(root, background=True): a host's or a snapshot's tree is
moved out of the way at once and deleted by a detached `rm`, after the same mount checks;
a lab that replaces a snapshot or removes a host does not wait for gigabytes to go."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from wmx.lab import LabError, commands, mounts, processes, snapshots
from wmx.lab.paths import LabPaths


def _tree(root: Path) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("lab1\n")
    return root


def _discarded(parent: Path) -> list[Path]:
    return sorted(parent.glob(f"{mounts.DISCARDED}*"))


def _gone_soon(parent: Path) -> bool:
    deadline = time.monotonic() + 20
    while _discarded(parent) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _discarded(parent)


def test_the_tree_is_gone_at_once_and_deleted_in_the_background(tmp_path: Path) -> None:
    root = _tree(tmp_path / "lab1")
    leftover = _tree(tmp_path / f"{mounts.DISCARDED}1-2")  # an earlier rm that never ended
    mounts.remove_tree(root, background=True)
    assert not root.exists()
    root.mkdir()  # the name is free for a new tree at once
    assert _gone_soon(tmp_path), _discarded(tmp_path)
    assert not leftover.exists()
    assert root.is_dir()


class Recorded:
    """wmx.lab.mounts.detach, recording the detached delete instead of starting it."""

    def __init__(self) -> None:
        self.argv: list[list[str]] = []

    def __call__(self, argv: list[str]) -> None:
        self.argv.append(list(argv))


def test_replacing_a_snapshot_does_not_wait_for_the_old_copy_to_be_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = LabPaths(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")
    disk = _tree(tmp_path / "disks" / "lab1")
    snapshots.take(paths, "deployed", {"lab1": disk}, {"n": 1}, [], {})
    recorded = Recorded()
    monkeypatch.setattr(mounts, "detach", recorded)
    snapshot = snapshots.take(paths, "deployed", {"lab1": disk}, {"n": 2}, [], {})
    assert snapshot.meta == {"n": 2}
    (aside,) = _discarded(paths.snapshots_dir)
    assert (aside / "hosts" / "lab1" / "etc" / "hostname").is_file()
    assert recorded.argv == [["rm", "-rf", "--one-file-system", "--", str(aside)]]


def test_without_setsid_the_tree_is_deleted_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_setsid(argv: list[str]) -> None:
        raise FileNotFoundError("setsid")

    monkeypatch.setattr(mounts, "detach", no_setsid)
    mounts.remove_tree(_tree(tmp_path / "lab1"), background=True)
    assert list(tmp_path.iterdir()) == []


def test_a_tree_with_a_mount_left_below_is_neither_moved_nor_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "lab1")
    stuck = root / "var/cache/apt/archives"
    monkeypatch.setattr(mounts, "mounts_under", lambda path: [stuck])
    monkeypatch.setattr(commands, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1))
    with pytest.raises(LabError, match="cannot unmount"):
        mounts.remove_tree(root, background=True)
    assert (root / "etc" / "hostname").is_file()
    assert _discarded(tmp_path) == []


def test_down_waits_for_the_detached_deletes_below_the_lab_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, snapshots = tmp_path / "state", tmp_path / "cache" / "snapshots"
    running = {
        11: ["rm", "-rf", "--one-file-system", "--", f"{state}/hosts/{mounts.DISCARDED}1-2"],
        12: ["rm", "-rf", "--one-file-system", "--", f"{tmp_path}/other/{mounts.DISCARDED}1-2"],
        13: ["rm", "-rf", f"{state}/hosts/lab1"],  # not a background delete of the lab's
        14: ["python3", f"{state}/hosts/{mounts.DISCARDED}1-2"],
        # Forked by `setsid --fork`, not yet exec'd into rm: the same process.
        15: ["setsid", "--fork", "rm", "-rf", "--", f"{state}/hosts/{mounts.DISCARDED}3-4"],
        # A replaced snapshot's old copy, in the cache.
        16: ["rm", "-rf", "--", f"{snapshots}/{mounts.DISCARDED}5-6"],
    }
    waited: list[list[int]] = []

    def find_pids(matches: Any) -> list[int]:
        return [pid for pid, argv in running.items() if matches(argv)]

    def wait_gone(pids: list[int], timeout: float) -> list[int]:
        waited.append(pids)
        return []

    monkeypatch.setattr(processes, "find_pids", find_pids)
    monkeypatch.setattr(processes, "wait_gone", wait_gone)
    mounts.wait_for_background_removals(state, snapshots)
    assert waited == [[11, 15, 16]]


def test_the_wait_ends_when_the_delete_does(tmp_path: Path) -> None:
    # Several times: the wait right after `detach` returns once missed a delete whose
    # process had not yet become `rm` (a loaded CI machine).
    for attempt in range(10):
        root = _tree(tmp_path / "state" / "hosts" / f"lab{attempt}")
        mounts.remove_tree(root, background=True)
        mounts.wait_for_background_removals(tmp_path / "state", timeout=20)
        assert _discarded(root.parent) == [], attempt
