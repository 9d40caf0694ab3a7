"""The table of Debian releases (wmx/debian.py) and what the lab makes of it: a rootfs
recipe per release, `--release` values, a host's release read from its disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx import debian
from wmx.cli import app
from wmx.errors import InputError
from wmx.lab import hostrelease, rootfs
from wmx.lab.errors import LabError
from wmx.lab.paths import LabPaths


def test_the_table_holds_what_debian_ships_in_each_release() -> None:
    table = debian.role_vars()
    assert table["bookworm"] == {
        "codename": "bookworm",
        "version": "12",
        "postgresql": "15",
        "python": "3.11",
        "borg": "1.2",
        "security_suite": "bookworm-security",
        "systemd": 252,
        "nginx": "1.22",
        "nginx_listen": "ssl http2",
        "nginx_http2": "",
    }
    # nginx 1.26 deprecates the listen parameter http2 for the server directive.
    assert (table["trixie"]["nginx_listen"], table["trixie"]["nginx_http2"]) == (
        "ssl",
        "http2 on;",
    )
    assert (table["trixie"]["version"], table["trixie"]["postgresql"]) == ("13", "17")
    assert (table["trixie"]["python"], table["trixie"]["borg"]) == ("3.13", "1.4")
    assert debian.DEFAULT_RELEASE == "trixie"
    assert debian.NEXT_RELEASE == {"bookworm": "trixie"}


def test_a_release_is_named_by_codename_or_version() -> None:
    assert debian.release("13").codename == "trixie"
    assert debian.release("bookworm").version == "12"
    with pytest.raises(InputError, match=r"unknown Debian release 'sid': wmx supports bookworm"):
        debian.release("sid")


def test_each_release_has_its_own_rootfs_cache_and_recipe() -> None:
    paths = LabPaths(cache_dir=Path("/c"))
    assert paths.rootfs("trixie") == Path("/c/lab/rootfs-trixie")
    assert paths.rootfs_build_log("bookworm") == Path("/c/lab/rootfs-bookworm.log")
    assert rootfs.recipe_digest("trixie") != rootfs.recipe_digest("bookworm")
    assert rootfs.sources_list("trixie").splitlines()[1:] == [
        "deb http://deb.debian.org/debian trixie main",
        "deb http://deb.debian.org/debian trixie-updates main",
        "deb http://deb.debian.org/debian-security trixie-security main",
    ]


def test_a_cache_stamped_for_another_release_is_not_current(tmp_path: Path) -> None:
    stamp = tmp_path / rootfs.STAMP
    stamp.parent.mkdir(parents=True)
    stamp.write_text(f'{{"recipe_digest": "{rootfs.recipe_digest("bookworm")}"}}')
    assert rootfs.is_current(tmp_path, "bookworm")
    assert not rootfs.is_current(tmp_path, "trixie")


def test_release_values_name_all_hosts_or_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(hostrelease.RELEASE_VARIABLE, raising=False)
    hosts = ["lab1", "lab2"]
    assert hostrelease.parse_releases([], hosts) == {}
    assert hostrelease.parse_releases(["12"], hosts) == {"lab1": "bookworm", "lab2": "bookworm"}
    assert hostrelease.parse_releases(["trixie", "lab2=bookworm"], hosts) == {
        "lab1": "trixie",
        "lab2": "bookworm",
    }
    assert hostrelease.parse_releases(["lab2=bookworm"], hosts) == {"lab2": "bookworm"}
    with pytest.raises(InputError, match="'lab3' is not among lab1, lab2"):
        hostrelease.parse_releases(["lab3=trixie"], hosts)
    with pytest.raises(InputError, match="a release for all hosts was given already"):
        hostrelease.parse_releases(["trixie", "bookworm"], hosts)


def test_the_default_release_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(hostrelease.RELEASE_VARIABLE, raising=False)
    assert hostrelease.default_release() == "trixie"
    monkeypatch.setenv(hostrelease.RELEASE_VARIABLE, "12")
    assert hostrelease.default_release() == "bookworm"
    monkeypatch.setenv(hostrelease.RELEASE_VARIABLE, "buster")
    with pytest.raises(LabError, match=r"\$WMX_LAB_RELEASE: unknown Debian release 'buster'"):
        hostrelease.default_release()


def test_a_hosts_release_is_what_its_disk_says(tmp_path: Path) -> None:
    assert hostrelease.disk_release(tmp_path) is None
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/os-release").write_text(
        'NAME="Debian GNU/Linux"\nVERSION_CODENAME=trixie\n'
    )
    assert hostrelease.disk_release(tmp_path) == "trixie"


def test_only_a_host_with_systemd_256_or_later_boots_on_its_own_cgroup_v2_tree(
    tmp_path: Path,
) -> None:
    (tmp_path / "usr/lib").mkdir(parents=True)
    os_release = tmp_path / "usr/lib/os-release"
    os_release.write_text("VERSION_CODENAME=bookworm\n")
    assert hostrelease.nspawn_env(tmp_path) == []
    os_release.write_text("VERSION_CODENAME=trixie\n")
    assert hostrelease.nspawn_env(tmp_path) == ["env", "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1"]
    os_release.write_text("VERSION_CODENAME=forky\n")
    assert hostrelease.nspawn_env(tmp_path) == []


def test_an_existing_host_is_never_given_another_release(tmp_path: Path) -> None:
    paths = LabPaths(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")
    root = paths.host_root("lab1")
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/os-release").write_text("VERSION_CODENAME=bookworm\n")
    # It keeps its disk (no rootfs needed) unless asked for another release.
    assert hostrelease.sources(paths, ["lab1"], [], print) == {"lab1": None}
    assert hostrelease.sources(paths, ["lab1"], ["bookworm"], print) == {"lab1": None}
    with pytest.raises(LabError, match="lab1 runs Debian bookworm, not trixie"):
        hostrelease.sources(paths, ["lab1"], ["trixie"], print)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--release", "sid"], "unknown Debian release 'sid'"),
        (["-n", "2", "-r", "lab3=trixie"], "'lab3' is not among lab1, lab2"),
        (["--from-snapshot", "x", "-r", "trixie"], "a snapshot's hosts keep their release"),
    ],
)
def test_lab_up_refuses_a_wrong_release_in_one_line(argv: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["lab", "up", *argv])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
