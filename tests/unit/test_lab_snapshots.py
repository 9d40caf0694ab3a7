"""Snapshots of lab hosts without a lab: the copy, its record, and freezing processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from wmx.lab import Lab, LabError, acme, ca, containers, network, processes, snapshots
from wmx.lab.paths import LabPaths

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _host_tree(root: Path, marker: str) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc/hostname").write_text(marker)
    (root / "var/lib/postgresql").mkdir(parents=True)
    (root / "var/lib/postgresql/data").write_bytes(b"\0" * 4096)
    return root


def test_a_snapshot_holds_copies_of_its_hosts_and_its_record(tmp_path: Path) -> None:
    paths = LabPaths(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")
    roots = {h: _host_tree(tmp_path / "disks" / h, h) for h in ("lab4", "lab5")}
    taken = snapshots.take(
        paths, "backup-site", roots, {"key": "abc"}, [PEM], {"backup.test": "lab4"}
    )
    assert taken.hosts == ("lab4", "lab5")
    assert (taken.host_tree("lab5") / "etc/hostname").read_text() == "lab5"
    again = snapshots.load(paths, "backup-site")
    assert again == taken
    assert again.meta == {"key": "abc"} and again.trust == (PEM,)
    assert again.names == {"backup.test": "lab4"}
    assert paths.snapshots_dir.stat().st_mode & 0o777 == 0o700
    assert [s.name for s in snapshots.list_snapshots(paths)] == ["backup-site"]

    restored = tmp_path / "hosts" / "lab4"
    restored.parent.mkdir()
    snapshots.copy_host(again, "lab4", restored)
    assert (restored / "var/lib/postgresql/data").read_bytes() == b"\0" * 4096
    # Changing the copy leaves the snapshot as it was.
    (restored / "etc/hostname").write_text("changed")
    assert (again.host_tree("lab4") / "etc/hostname").read_text() == "lab4"

    assert snapshots.delete(paths, "backup-site")
    assert snapshots.load(paths, "backup-site") is None
    assert not snapshots.delete(paths, "backup-site")


def test_taking_a_snapshot_again_replaces_it_whole(tmp_path: Path) -> None:
    paths = LabPaths(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")
    first = {"lab1": _host_tree(tmp_path / "a" / "lab1", "first")}
    snapshots.take(paths, "s", first, {"n": 1}, [], {})
    second = {"lab2": _host_tree(tmp_path / "b" / "lab2", "second")}
    taken = snapshots.take(paths, "s", second, {"n": 2}, [], {})
    assert taken.hosts == ("lab2",) and taken.meta == {"n": 2}
    assert not taken.host_tree("lab1").exists()
    # No leftovers, once the detached delete of the old copy (mounts.remove_tree) is done.
    deadline = time.monotonic() + 20
    while list(paths.snapshots_dir.glob(".*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p.name for p in paths.snapshots_dir.iterdir()] == ["s"]


def test_an_incomplete_snapshot_is_not_one(tmp_path: Path) -> None:
    paths = LabPaths(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")
    snapshots.take(paths, "s", {"lab1": _host_tree(tmp_path / "lab1", "x")}, {}, [], {})
    (paths.snapshots_dir / "s" / snapshots.META_FILE).write_text("{")
    assert snapshots.load(paths, "s") is None
    assert snapshots.list_snapshots(paths) == []


@pytest.mark.parametrize("name", ["", "Upper", "-dash", "a/b", "..", "x" * 81])
def test_snapshot_names_are_checked(name: str) -> None:
    with pytest.raises(LabError, match="not a snapshot name"):
        snapshots.check_name(name)


def test_frozen_stops_processes_and_lets_them_go_on(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    script = (
        "import time, pathlib\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = 0\n"
        "while True:\n"
        "    n += 1; p.write_text(str(n)); time.sleep(0.01)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        while not counter.exists() or not counter.read_text():
            pass
        with processes.frozen(lambda: [child.pid]):
            assert processes._state(child.pid) == "T"
            before = counter.read_text()
            subprocess.run(["sleep", "0.2"], check=True)
            assert counter.read_text() == before
        subprocess.run(["sleep", "0.2"], check=True)
        assert processes._state(child.pid) != "T"
        assert counter.read_text() != before
    finally:
        child.kill()
        child.wait()


def test_booting_a_snapshot_powers_all_its_hosts_off_at_once_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each poweroff takes seconds: three deployed hosts one after another took about
    20 s each (tests/e2e/test_workers.py booting its snapshot, 2026-12-01)."""
    lab = Lab(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")
    hosts = ["lab3", "lab2", "lab4"]
    disks = {h: _host_tree(tmp_path / "disks" / h, h) for h in hosts}
    snapshots.take(lab.paths, "s", disks, {}, [], {})
    events: list[tuple[str, object]] = []

    def stop_hosts(paths: LabPaths, names: list[str], timeout: float = 0) -> None:
        events.append(("stop", list(names)))

    def copy_host(snapshot: object, host: str, dest: Path) -> None:
        events.append(("copy", host))

    monkeypatch.setattr(Lab, "require_root", staticmethod(lambda: None))
    monkeypatch.setattr(containers, "stop_hosts", stop_hosts)
    monkeypatch.setattr(snapshots, "copy_host", copy_host)
    monkeypatch.setattr(network, "remove_host_link", lambda name: None)
    monkeypatch.setattr(ca, "ensure_lab_identity", lambda paths: None)
    monkeypatch.setattr(acme, "keep_roots", lambda paths, roots: None)
    for method in ("_up", "set_names", "_publish_names", "_write_known_hosts"):
        monkeypatch.setattr(Lab, method, lambda *args, **kwargs: [])
    lab.up_from_snapshot("s")
    assert events[0] == ("stop", hosts)
    assert [host for kind, host in events if kind == "copy"] == hosts
