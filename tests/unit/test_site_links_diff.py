"""`wmx diff` and a deploy's plan read the last deploy's record (.wmx/deployed/HOST)
before they write build/: a record wmx refuses (a host's directory linked out of the
site, a file in it linked, a damaged manifest) leaves build/ as it was. `wmx diff` had
written build/ first and refused after, although nothing is written on an error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.hostile2_support import deployed_site, one_line_refusal
from wmx.cli import app
from wmx.errors import InputError
from wmx.ops.deploy import diff_site, plan_deploy
from wmx.site import load_site

runner = CliRunner()


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A site whose last render is recorded as its last deploy, with build/ gone: a
    refused command must not make it again."""
    root = deployed_site(tmp_path / "site")
    shutil.rmtree(root / "build")
    return root


def _host(site: Path) -> Path:
    return next(p for p in (site / ".wmx" / "deployed").iterdir() if p.is_dir())


def _link_host_out(site: Path, tmp_path: Path) -> Path:
    """The host's record moved out of the site and linked back: what it names is read
    from elsewhere."""
    host = _host(site)
    outside = tmp_path / "outside" / host.name
    outside.parent.mkdir()
    shutil.move(host, outside)
    host.symlink_to(outside)
    return outside


def test_diff_with_a_record_linked_out_writes_no_build(recorded: Path, tmp_path: Path) -> None:
    _link_host_out(recorded, tmp_path)
    result = runner.invoke(app, ["--site", str(recorded), "diff"])
    one_line_refusal(result, "symbolic link")
    assert not (recorded / "build").exists()
    assert not (recorded / ".build.tmp").exists()


def test_diff_with_a_record_linked_out_leaves_an_earlier_build_as_it_was(
    recorded: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["--site", str(recorded), "render"]).exit_code == 0
    build = recorded / "build"
    before = {p: p.read_bytes() for p in build.rglob("*") if p.is_file()}
    marker = build / "left-by-the-earlier-render"
    marker.write_text("kept\n")
    _link_host_out(recorded, tmp_path)
    one_line_refusal(runner.invoke(app, ["--site", str(recorded), "diff"]), "symbolic link")
    assert marker.read_text() == "kept\n"
    assert all(p.read_bytes() == data for p, data in before.items())


@pytest.mark.parametrize("secret", [False, True])
def test_a_linked_file_of_the_record_refuses_before_build_is_written(
    recorded: Path, tmp_path: Path, secret: bool
) -> None:
    """Even one that would not differ, or a secret one the diff never shows: wmx writes
    no link in its record, so one there is not its record."""
    host = _host(recorded)
    entries = json.loads((host / ".wmx" / "manifest.json").read_text())
    src = next(e["src"] for e in entries if bool(e.get("secret")) == secret)
    victim = tmp_path / "victim"
    victim.write_text("root:x:0:0:\n")
    (host / src).unlink()
    (host / src).symlink_to(victim)
    with pytest.raises(InputError, match="symbolic link"):
        diff_site(load_site(recorded))
    assert not (recorded / "build").exists()


def test_a_deploy_plan_reads_the_record_before_it_renders(recorded: Path, tmp_path: Path) -> None:
    _link_host_out(recorded, tmp_path)
    with pytest.raises(InputError, match="symbolic link"):
        plan_deploy(load_site(recorded))
    assert not (recorded / "build").exists()


def test_a_good_record_still_diffs_as_before(recorded: Path) -> None:
    from wmx.render.build_tree import diff_trees, read_record

    site = load_site(recorded)
    assert diff_site(site) == []
    host = _host(recorded)
    record = read_record(recorded / ".wmx" / "deployed", [host.name])
    build = read_record(recorded / "build", [host.name])
    assert diff_trees(record, build, [host.name]) == []
    assert diff_trees(recorded / ".wmx" / "deployed", recorded / "build", [host.name]) == []
