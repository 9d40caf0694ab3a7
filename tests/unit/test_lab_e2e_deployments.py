"""The e2e tests' deployed-site cache (tests/e2e/deployments.py), against a stand-in lab:
deploy and keep a snapshot once, boot it while nothing changed, deploy again otherwise."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import cast

import pytest

from tests.e2e import deployments
from tests.e2e.deployments import Deployment, Recipe, deployed_site
from wmx.lab import Lab, snapshots
from wmx.lab.cinny import CLIENTS_ENV
from wmx.lab.paths import LabPaths
from wmx.lab.snapshots import Snapshot


class StandInLab:
    """What deployed_site uses of Lab, with real snapshot directories and no hosts."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.paths = LabPaths(state_dir=base / "state", cache_dir=base / "cache")
        self.calls: list[str] = []
        # What `systemctl list-units --failed` prints on each host, as the test sets it.
        self.failed: dict[str, str] = {}
        # What `systemctl status UNIT` prints, as the test sets it.
        self.status = ""

    def find_snapshot(self, name: str) -> Snapshot | None:
        return snapshots.load(self.paths, name)

    def snapshot(self, name: str, hosts: list[str], meta: dict[str, object]) -> Snapshot:
        self.calls.append(f"snapshot {name}")
        disks = {host: self.base / "disks" / host for host in hosts}
        for disk in disks.values():
            disk.mkdir(parents=True, exist_ok=True)
        return snapshots.take(self.paths, name, disks, meta, [], {})

    def up_from_snapshot(self, name: str) -> None:
        self.calls.append(f"boot {name}")

    def run(self, host: str, argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        if "--failed" in argv:
            return subprocess.CompletedProcess(argv, 0, self.failed.get(host, ""), "")
        if "status" in argv:
            return subprocess.CompletedProcess(argv, 3, self.status, "")
        return subprocess.CompletedProcess(argv, 0, "running\n", "")

    def harvest_wheels(self, host: str) -> int:
        self.calls.append(f"harvest {host}")
        return 0

    def as_lab(self) -> Lab:
        """deployed_site takes a Lab: this stand-in has each method of it that it calls."""
        return cast(Lab, self)


def _deploy(root: Path) -> subprocess.CompletedProcess[str]:
    root.mkdir()
    (root / "wmx.yaml").write_text("server_name: example.test\n")
    return subprocess.CompletedProcess(["wmx", "deploy"], 0, "Deployed: 42 task(s) changed", "")


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandInLab:
    monkeypatch.delenv(deployments.SNAPSHOTS_VARIABLE, raising=False)
    monkeypatch.setenv("WMX_LAB_RELEASE", "bookworm")
    return StandInLab(tmp_path)


def test_deployed_once_then_booted_from_the_snapshot(lab: StandInLab, tmp_path: Path) -> None:
    recipe = Recipe("site", ("lab1",), __file__, {"setting": 1})
    first = deployed_site(recipe, lab.as_lab(), tmp_path / "one", _deploy)
    assert not first.restored
    assert lab.calls == ["harvest lab1", "snapshot e2e-bookworm-site"]

    restored: list[Deployment] = []
    again = deployed_site(recipe, lab.as_lab(), tmp_path / "two", _deploy, restored.append)
    assert again.restored and restored == [again]
    assert lab.calls[-1] == "boot e2e-bookworm-site"
    # The site directory comes back with it, and so does the first deploy's output.
    assert (tmp_path / "two" / "wmx.yaml").read_text() == "server_name: example.test\n"
    assert again.first_deploy.stdout == "Deployed: 42 task(s) changed"


def test_a_booted_copy_may_lose_a_failed_unit_and_one_that_gains_one_is_deployed_afresh(
    lab: StandInLab, tmp_path: Path
) -> None:
    recipe = Recipe("site", ("lab1", "lab2"), __file__)
    # A unit that failed during the deploy (a root session's user manager, on lab2)...
    lab.failed = {"lab2": "user@0.service loaded failed failed User Manager for UID 0\n"}
    deployed_site(recipe, lab.as_lab(), tmp_path / "a", _deploy)
    # ...is not failed after a boot of the copy: fine.
    lab.failed = {}
    assert deployed_site(recipe, lab.as_lab(), tmp_path / "b", _deploy).restored
    # A unit the fresh deploy ran but the copy fails to start: the copy is not used, the
    # site is deployed afresh (into the same directory) and kept as the new snapshot, and
    # the warning names the unit with what systemd says of it.
    lab.failed = {"lab1": "nftables.service loaded failed failed nftables\n"}
    lab.status = "* nftables.service - nftables\n   Active: failed (Result: exit-code)"
    with pytest.warns(deployments.SnapshotBootWarning) as warned:
        again = deployed_site(recipe, lab.as_lab(), tmp_path / "c", _deploy)
    assert not again.restored and again.first_deploy.stdout == "Deployed: 42 task(s) changed"
    assert lab.calls[-4:] == [
        "boot e2e-bookworm-site",
        "harvest lab1",
        "harvest lab2",
        "snapshot e2e-bookworm-site",
    ]
    message = str(warned[0].message)
    assert "lab1: nftables.service" in message and "Result: exit-code" in message
    assert "lab2:" not in message


def test_a_changed_recipe_deploys_afresh(lab: StandInLab, tmp_path: Path) -> None:
    deployed_site(
        Recipe("site", ("lab1",), __file__, {"setting": 1}), lab.as_lab(), tmp_path / "a", _deploy
    )
    other = deployed_site(
        Recipe("site", ("lab1",), __file__, {"setting": 2}),
        lab.as_lab(),
        tmp_path / "b",
        _deploy,
    )
    assert not other.restored
    assert lab.calls.count("snapshot e2e-bookworm-site") == 2


def test_each_release_has_its_own_snapshot_and_key(
    lab: StandInLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = Recipe("site", ("lab1",), __file__)
    deployed_site(recipe, lab.as_lab(), tmp_path / "a", _deploy)
    bookworm_key = deployments.key_of(recipe)
    monkeypatch.setenv("WMX_LAB_RELEASE", "trixie")
    # Debian 13 hosts never boot Debian 12's snapshot: deployed afresh, kept apart.
    assert not deployed_site(recipe, lab.as_lab(), tmp_path / "b", _deploy).restored
    assert deployments.key_of(recipe) != bookworm_key
    assert lab.calls[-1] == "snapshot e2e-trixie-site"
    assert lab.find_snapshot("e2e-bookworm-site") is not None


def test_snapshots_can_be_turned_off(
    lab: StandInLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(deployments.SNAPSHOTS_VARIABLE, "0")
    recipe = Recipe("site", ("lab1",), __file__)
    for name in ("a", "b"):
        assert not deployed_site(recipe, lab.as_lab(), tmp_path / name, _deploy).restored
    # No snapshot taken; the wheelhouse still gains what the hosts downloaded.
    assert lab.calls == ["harvest lab1", "harvest lab1"]


def test_the_key_follows_the_code_and_the_describing_module(tmp_path: Path) -> None:
    module = tmp_path / "test_module.py"
    module.write_text("SETTINGS = 1\n")
    before = deployments.key_of(Recipe("site", ("lab1",), str(module)))
    assert deployments.key_of(Recipe("site", ("lab1",), str(module))) == before
    module.write_text("SETTINGS = 2\n")
    assert deployments.key_of(Recipe("site", ("lab1",), str(module))) != before


def test_the_key_follows_where_the_client_archives_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A site records the archive's absolute path: a clone that finds the archives
    # elsewhere (CI's) must not boot a copy whose wmx.yaml names this machine's path.
    recipe = Recipe("site", ("lab1",), __file__)
    monkeypatch.setenv(CLIENTS_ENV, str(tmp_path / "here"))
    here = deployments.key_of(recipe)
    monkeypatch.setenv(CLIENTS_ENV, str(tmp_path / "there"))
    assert deployments.key_of(recipe) != here
