"""What is found where a render keeps its new tree and the old one (.build.tmp, .build.old)
is removed, never followed: a file or a symbolic link there had stopped every render with
a FileExistsError or NotADirectoryError traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app


@pytest.mark.parametrize("name", [".build.tmp", ".build.old"])
@pytest.mark.parametrize("kind", ["file", "link to a directory", "dangling link"])
def test_a_render_removes_what_it_finds_at_its_own_names(
    site_dir: Path, tmp_path: Path, name: str, kind: str
) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "file").write_text("not wmx's")
    found = site_dir / name
    if kind == "file":
        found.write_text("x")
    else:
        found.symlink_to(kept if kind == "link to a directory" else tmp_path / "none")
    result = CliRunner().invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 0, result.output
    assert (site_dir / "build").is_dir() and not (site_dir / "build").is_symlink()
    assert not found.exists() and not found.is_symlink()
    assert (kept / "file").read_text() == "not wmx's"  # a link's target is left alone
