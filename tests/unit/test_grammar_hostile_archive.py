"""A web client archive whose modes or names the hosts must not unpack as root: setuid,
setgid or sticky bits, files or directories writable by group or others (root's tar
keeps them, and any account of the proxy host could change the JavaScript it serves), a
control character in a member's name, and a version in the directory's name longer than
web_client.version allows (wmx/site/element_release.py)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app

from .test_hostile_archives import TOP, _archive, _member, _site_with

runner = CliRunner()


def _with_mode(info: tarfile.TarInfo, mode: int) -> tarfile.TarInfo:
    info.mode = mode
    return info


REFUSED = {
    "setuid": _with_mode(_member(f"{TOP}/x", size=1), 0o4755),
    "setgid": _with_mode(_member(f"{TOP}/x", size=1), 0o2755),
    "sticky-directory": _with_mode(_member(f"{TOP}/d", tarfile.DIRTYPE), 0o1777),
    "world-writable": _with_mode(_member(f"{TOP}/x", size=1), 0o666),
    "group-writable": _with_mode(_member(f"{TOP}/x", size=1), 0o664),
    "world-writable-directory": _with_mode(_member(f"{TOP}/d", tarfile.DIRTYPE), 0o777),
    "hard-link-setuid": _with_mode(
        _member(f"{TOP}/h", tarfile.LNKTYPE, f"{TOP}/index.html"), 0o4755
    ),
}


def _refused(tmp_path: Path, archive: Path) -> str:
    site, line = _site_with(tmp_path, archive)
    before = (site / "wmx.yaml").read_bytes()
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 2, result.output
    lines = [text for text in result.stderr.splitlines() if text.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {site / 'wmx.yaml'}:{line}: web_client.archive "), lines[0]
    assert "Traceback" not in result.stderr
    assert (site / "wmx.yaml").read_bytes() == before
    return lines[0]


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_member_with_a_dangerous_mode_is_refused(tmp_path: Path, case: str) -> None:
    archive = _archive(tmp_path / f"{case}.tar.gz", REFUSED[case])
    says = _refused(tmp_path, archive)
    assert f"has mode {REFUSED[case].mode:04o}" in says


@pytest.mark.parametrize("name", [f"{TOP}/a\nb", f"{TOP}/a\x1b[2Jb", f"{TOP}/a\u202eb"])
def test_a_member_with_a_control_character_in_its_name_is_refused(
    tmp_path: Path, name: str
) -> None:
    archive = _archive(tmp_path / "names.tar.gz", _member(name, size=1))
    assert "control character in its name" in _refused(tmp_path, archive)


def test_a_link_with_a_control_character_in_its_target_is_refused(tmp_path: Path) -> None:
    link = _member(f"{TOP}/l", tarfile.SYMTYPE, "index.html\nx")
    assert "control character" in _refused(tmp_path, _archive(tmp_path / "l.tar.gz", link))


def test_the_usual_modes_and_a_link_of_mode_0777_are_accepted(tmp_path: Path) -> None:
    archive = _archive(
        tmp_path / "ok.tar.gz",
        _with_mode(_member(f"{TOP}/bundles", tarfile.DIRTYPE), 0o755),
        _with_mode(_member(f"{TOP}/bundles/app.js", size=1), 0o644),
        _with_mode(_member(f"{TOP}/run.sh", size=1), 0o755),
        _with_mode(_member(f"{TOP}/l", tarfile.SYMTYPE, "index.html"), 0o777),
    )
    site, _ = _site_with(tmp_path, archive)
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 0, result.stderr


def _release(path: Path, top: str) -> Path:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        index = tarfile.TarInfo(f"{top}/index.html")
        index.size = 6
        archive.addfile(index, io.BytesIO(b"<html>"))
    return path


@pytest.mark.parametrize(
    "top", ["element-v1.2.3" + "a" * 100, "element-v1.2.3" + "a" * 17, "element-v12345.1.1"]
)
def test_a_version_longer_than_web_client_version_allows_is_refused(
    tmp_path: Path, top: str
) -> None:
    says = _refused(tmp_path, _release(tmp_path / "long.tar.gz", top))
    assert "not a web client release archive" in says
    assert "a" * 17 not in says  # the refused name is not quoted at length


def test_the_longest_version_web_client_version_allows_is_accepted(tmp_path: Path) -> None:
    archive = _release(tmp_path / "ok.tar.gz", "element-v1.2.3" + "a" * 16)
    site, _ = _site_with(tmp_path, archive)
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 0, result.stderr
