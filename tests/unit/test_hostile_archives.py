"""A web client archive (web_client.archive, `wmx upgrade … --archive`) that the hosts
would unpack as root outside the release's directory is refused at load: a member with
`..` or an absolute name, a link pointing out, a device or FIFO, a tar bomb. The error
names wmx.yaml's line of web_client.archive."""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app

from .test_hostile_files import new_site

runner = CliRunner()
TOP = "element-v1.11.80"


def _archive(path: Path, *extra: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        index = tarfile.TarInfo(f"{TOP}/index.html")
        index.size = 6
        archive.addfile(index, io.BytesIO(b"<html>"))
        for member in extra:
            archive.addfile(member, io.BytesIO(b"x" * member.size) if member.size else None)
    return path


def _member(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", size: int = 0
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, size
    return info


REFUSED = {
    "dotdot": (_member(f"{TOP}/../../etc/cron.d/x", size=1), "lies outside the directory"),
    "absolute": (_member("/etc/cron.d/x", size=1), "lies outside the directory"),
    "symlink-absolute": (_member(f"{TOP}/l", tarfile.SYMTYPE, "/etc"), "symbolic link"),
    "symlink-up": (_member(f"{TOP}/l", tarfile.SYMTYPE, "../../etc"), "symbolic link"),
    "symlink-beside": (_member(f"{TOP}/l", tarfile.SYMTYPE, "../other"), "symbolic link"),
    "hardlink": (_member(f"{TOP}/h", tarfile.LNKTYPE, "/etc/shadow"), "hard link"),
    "hardlink-other-top": (_member(f"{TOP}/h", tarfile.LNKTYPE, "other/x"), "hard link"),
    "fifo": (_member(f"{TOP}/f", tarfile.FIFOTYPE), "device or FIFO"),
    "device": (_member(f"{TOP}/d", tarfile.CHRTYPE), "device or FIFO"),
}


def _site_with(tmp_path: Path, archive: Path) -> tuple[Path, int]:
    site = new_site(tmp_path)
    config = site / "wmx.yaml"
    text = config.read_text()
    assert "  archive: null\n" in text
    line = text[: text.index("  archive: null\n")].count("\n") + 1
    config.write_text(text.replace("  archive: null\n", f"  archive: {archive}\n", 1))
    return site, line


@pytest.mark.parametrize("case", list(REFUSED))
def test_an_archive_that_unpacks_outside_is_refused_with_the_line(
    tmp_path: Path, case: str
) -> None:
    member, says = REFUSED[case]
    archive = _archive(tmp_path / f"{case}.tar.gz", member)
    site, line = _site_with(tmp_path, archive)
    before = (site / "wmx.yaml").read_bytes()
    result = runner.invoke(app, ["--site", str(site), "render"])
    assert result.exit_code == 2, result.output
    lines = [text for text in result.stderr.splitlines() if text.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {site / 'wmx.yaml'}:{line}: web_client.archive "), lines[0]
    assert says in lines[0]
    assert (site / "wmx.yaml").read_bytes() == before and not (site / "build").exists()


def test_a_link_inside_the_release_is_kept(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "ok.tar.gz", _member(f"{TOP}/l", tarfile.SYMTYPE, "index.html"))
    site, _ = _site_with(tmp_path, archive)
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 0, result.stderr


def test_a_tar_bomb_is_refused_before_it_is_unpacked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module, not the function wmx.site re-exports under the same name.
    monkeypatch.setattr(sys.modules["wmx.site.element_release"], "_MAX_UNPACKED", 1000)
    archive = _archive(tmp_path / "bomb.tar.gz", _member(f"{TOP}/big", size=2000))
    site, line = _site_with(tmp_path, archive)
    result = runner.invoke(app, ["--site", str(site), "render"])
    assert result.exit_code == 2, result.output
    assert f"wmx.yaml:{line}: web_client.archive" in result.stderr
    assert "GiB unpacked" in result.stderr
