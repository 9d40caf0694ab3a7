"""The root command's static table (wmx.cli.COMMANDS) is what `wmx --help` lists
without importing the command modules: it must match the commands themselves."""

from __future__ import annotations

import json
import subprocess
import sys

from wmx.cli import COMMANDS, app


def test_table_help_is_each_commands_own_first_paragraph() -> None:
    import typer

    root = typer.main.get_command(app)
    built = dict(root.commands.items())  # type: ignore[attr-defined]
    assert list(built) == [name for name, _, _ in COMMANDS]
    for name, _, text in COMMANDS:
        assert (built[name].help or "").split("\n\n")[0] == text, name


def test_render_imports_only_its_own_command_module() -> None:
    code = (
        "import sys\nfrom wmx.cli import app\nimport typer\n"
        "root = typer.main.get_command(app)\nroot.get_command(None, 'render')\n"
        "import json\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('wmx.cli.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert "wmx.cli.deploy" in loaded
    assert not loaded & {"wmx.cli.user", "wmx.cli.room", "wmx.cli.lab", "wmx.cli.backup"}
