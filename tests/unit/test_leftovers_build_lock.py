"""A workflow that renders build/ and then reads it (deploy, diff, upgrade's converges,
the backup drill's deploy) holds build/'s lock from the render through the run: a
`wmx render` started in between refuses in one line instead of replacing the tree
Ansible then copies (the render and the run had each held it, not the time between).
And a render the disk refuses leaves build/ as it was and no .build.tmp behind."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import wmx.ops.deploy
import wmx.render
import wmx.render.build_tree
from wmx.cli import app
from wmx.errors import WmxError
from wmx.ops import drill, upgrade_os
from wmx.run import RunResult
from wmx.site import load_site
from wmx.site.yamlfile import locked

BUSY = "another wmx run (render, diff or deploy) of this site is using it"


ENTRY = "from wmx.entry import main; main()"


def _render_in_another_process(site_dir: Path) -> subprocess.CompletedProcess[str]:
    """`wmx --site SITE render`, as the installed command runs it."""
    return subprocess.run(
        [sys.executable, "-c", ENTRY, "--site", str(site_dir), "render"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _held_by_another(build: Path) -> bool:
    """Whether build/'s lock is held, as a run in another thread would find it."""
    found: list[bool] = []

    def probe() -> None:
        try:
            with locked(build, busy="busy"):
                found.append(False)
        except WmxError:
            found.append(True)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(timeout=30)
    return found == [True]


def _ran(tmp_path: Path) -> RunResult:
    return RunResult(True, 0, "successful", {}, 0, [], [], tmp_path, tmp_path)


def test_a_render_while_a_deploy_is_between_its_render_and_its_run_refuses(
    site_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = site_dir / "build"
    seen: dict[str, Any] = {}

    def preflight(*_args: object) -> None:  # after the render, before the run
        seen["inode"] = build.stat().st_ino
        seen["render"] = _render_in_another_process(site_dir)

    def run_playbook(**kwargs: Any) -> RunResult:
        assert build.stat().st_ino == seen["inode"]  # the tree rendered for this run
        return _ran(tmp_path)

    monkeypatch.setattr(wmx.ops.deploy, "preflight", preflight)
    monkeypatch.setattr(wmx.ops.deploy, "run_playbook", run_playbook)
    result = CliRunner().invoke(app, ["--site", str(site_dir), "deploy"])
    assert result.exit_code == 0, result.output
    render = seen["render"]
    assert render.returncode == 1, render.stdout + render.stderr
    assert BUSY in render.stderr and len(render.stderr.strip().splitlines()) == 1
    assert "Traceback" not in render.stderr
    assert not (site_dir / ".build.tmp").exists()
    # Released when the deploy is done.
    assert _render_in_another_process(site_dir).returncode == 0


def test_a_thread_that_renders_during_deploy_site_is_refused(
    site_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = load_site(site_dir)
    refused: list[str] = []

    def render_meanwhile(_deployment: object) -> None:
        def render() -> None:
            try:
                wmx.ops.deploy.render_build(site)
            except WmxError as exc:
                refused.append(str(exc))

        thread = threading.Thread(target=render)
        thread.start()
        thread.join(timeout=60)

    monkeypatch.setattr(wmx.ops.deploy, "preflight", lambda *_a: None)
    monkeypatch.setattr(wmx.ops.deploy, "run_playbook", lambda **_k: _ran(tmp_path))
    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    result = wmx.ops.deploy.deploy_site(site, console=console, planned=render_meanwhile)
    assert result.ok
    assert len(refused) == 1 and BUSY in refused[0]
    assert not _held_by_another(site.paths.build)


def test_diff_holds_the_lock_while_it_compares(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[bool] = []
    real = wmx.render.diff_trees

    def diff_trees(*args: Any) -> Any:
        held.append(_held_by_another(site_dir / "build"))
        return real(*args)

    monkeypatch.setattr(wmx.ops.deploy, "diff_trees", diff_trees)
    wmx.ops.deploy.diff_site(load_site(site_dir))
    assert held == [True]


@pytest.mark.parametrize("workflow", ["upgrade os", "backup drill"])
def test_upgrade_and_drill_deploys_hold_the_lock_from_render_to_run(
    site_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workflow: str
) -> None:
    site = load_site(site_dir)
    held: list[tuple[str, bool]] = []
    real_plan = wmx.ops.deploy.plan_deploy

    def plan_deploy(*args: Any, **kwargs: Any) -> Any:
        held.append(("plan", _held_by_another(site.paths.build)))
        return real_plan(*args, **kwargs)

    def run_deploy(*_args: Any, **_kwargs: Any) -> RunResult:
        held.append(("run", _held_by_another(site.paths.build)))
        return _ran(tmp_path)

    monkeypatch.setattr(wmx.ops.deploy, "plan_deploy", plan_deploy)
    monkeypatch.setattr(wmx.ops.deploy, "run_deploy", run_deploy)
    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    if workflow == "upgrade os":
        upgrade_os._converge(site, console)
    else:
        drill.deploy_drill_host(site, site.topology.hosts[0], console=console)
    assert held == [("plan", True), ("run", True)]


def test_a_render_the_disk_refuses_leaves_build_whole_and_no_staging(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CliRunner().invoke(app, ["--site", str(site_dir), "render"]).exit_code == 0
    build = site_dir / "build"
    before = {p: p.read_bytes() for p in build.rglob("*") if p.is_file()}
    real = wmx.render.build_tree._write_private
    calls: list[Path] = []

    def full(path: Path, text: str, tree: Path) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, text, tree)

    monkeypatch.setattr(wmx.render.build_tree, "_write_private", full)
    result = CliRunner().invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: {build}: cannot be written (No space left on device); it was left as it was"
    ]
    assert not (site_dir / ".build.tmp").exists()
    assert {p: p.read_bytes() for p in build.rglob("*") if p.is_file()} == before
