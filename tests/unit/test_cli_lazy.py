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


# Runs the real entry point with ARGS (output discarded), then prints the wmx.cli
# modules it imported.
WRAPPER = """
import contextlib, io, json, sys
sys.argv = ["wmx", *json.loads(sys.argv[1])]
from wmx.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        main()
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("wmx.cli."))))
"""


def _cli_modules(*args: str) -> set[str]:
    argv = [sys.executable, "-c", WRAPPER, json.dumps(args)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_top_level_help_imports_no_command_module() -> None:
    assert _cli_modules("--help") == {"wmx.cli.common"}


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _cli_modules("render", "--help")
    assert "wmx.cli.deploy" in loaded
    assert not loaded & {"wmx.cli.user", "wmx.cli.room", "wmx.cli.lab", "wmx.cli.backup"}
