"""What every hostile2 case asks of a refusal: exit 2, one line on stderr saying it; and
the site those cases run on."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner, Result

from wmx.cli import app


def init_site(root: Path) -> Path:
    """A site made by `wmx init --defaults` for example.test at `root`."""
    made = CliRunner().invoke(
        app, ["init", str(root), "--defaults", "--server-name", "example.test"]
    )
    assert made.exit_code == 0, made.output
    return root


def deployed_site(root: Path) -> Path:
    """A site at `root` rendered, with that render recorded as its last deploy
    (.wmx/deployed/HOST and site.json), build/ left as the render wrote it."""
    init_site(root)
    rendered = CliRunner().invoke(app, ["--site", str(root), "render"])
    assert rendered.exit_code == 0, rendered.output
    (root / ".wmx" / "deployed").mkdir(parents=True)
    for host in (root / "build").iterdir():
        shutil.copytree(host, root / ".wmx" / "deployed" / host.name)
    (root / ".wmx" / "deployed" / "site.json").write_text('{"server_name": "example.test"}')
    return root


def one_line_refusal(result: Result, *says: str) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for part in says:
        assert part in lines[0], (part, lines[0])
    return lines[0]
