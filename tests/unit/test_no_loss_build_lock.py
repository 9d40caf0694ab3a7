"""build/ has one writer at a time: a render, diff or deploy started while another run of
the same site renders or deploys refuses in one line instead of swapping the tree under
it (two renders at once had raced on .build.tmp: FileNotFoundError/FileExistsError
tracebacks, and a deploy's Ansible could read a tree being replaced)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from typer.testing import CliRunner

from wmx.cli import app
from wmx.errors import WmxError
from wmx.site.yamlfile import locked

# Holds build/'s lock (as a deploy does while Ansible runs) until its stdin closes.
HOLDER = """
import sys
import threading
from pathlib import Path
from wmx.site.yamlfile import locked
with locked(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_render_while_another_run_holds_build_refuses_in_one_line(site_dir: Path) -> None:
    CliRunner().invoke(app, ["--site", str(site_dir), "render"])
    before = {p: p.read_bytes() for p in (site_dir / "build").rglob("*") if p.is_file()}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(site_dir / "build")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        for command in (["render"], ["diff"]):
            result = CliRunner().invoke(app, ["--site", str(site_dir), *command])
            assert result.exit_code == 1, result.output
            assert "another wmx run (render, diff or deploy) of this site" in result.output
            assert "Traceback" not in result.output
        after = {p: p.read_bytes() for p in (site_dir / "build").rglob("*") if p.is_file()}
        assert after == before
        assert not (site_dir / ".build.tmp").exists()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert CliRunner().invoke(app, ["--site", str(site_dir), "render"]).exit_code == 0


def test_locked_waits_by_default_and_refuses_when_asked(tmp_path: Path) -> None:
    # Another thread is another run; the thread that holds the lock takes it again.
    target = tmp_path / "file"
    refused: list[BaseException] = []

    def other() -> None:
        try:
            with locked(target, busy="busy now"):
                pass
        except WmxError as exc:
            refused.append(exc)

    with locked(target), locked(target, busy="busy now"):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=30)
    assert [str(e) for e in refused] == ["busy now"]
    with locked(target, busy="busy now"):
        pass
