"""The command tree users see stays as it is: every command, argument and option, with
its type, default, required flag, environment variable and help text, against
golden/cli_tree.txt. A change to the CLI that is meant shows in that file's diff:
regenerate it with `WMX_UPDATE_GOLDEN=1 pytest tests/unit/test_cli_tree.py` and review."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import typer

from wmx.cli import app

GOLDEN = Path(__file__).parent / "golden" / "cli_tree.txt"


def _lines(command: Any, path: str) -> list[str]:
    lines = [f"{path}: {command.help or ''}".rstrip()]
    for param in command.params:
        kind = getattr(param.type_descriptor, "annotation", "?")
        names = "/".join([*param.opts, *param.secondary_opts])
        bounds = [f"{b}={getattr(param, b)}" for b in ("min", "max") if getattr(param, b, None)]
        lines.append(
            f"  {names} [{getattr(kind, '__name__', kind)}]"
            f" default={param.default!r} required={param.required} multiple={param.multiple}"
            f" envvar={param.envvar} metavar={param.metavar} {' '.join(bounds)}".rstrip()
        )
        if getattr(param, "help", None):
            lines.append(f"    {param.help}")
    for name, sub in (getattr(command, "commands", None) or {}).items():
        lines += _lines(sub, f"{path} {name}")
    return lines


def test_command_tree_matches_golden() -> None:
    actual = "\n".join(_lines(typer.main.get_command(app), "wmx")) + "\n"
    if os.environ.get("WMX_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(actual)
    assert actual == GOLDEN.read_text(), "the CLI changed; WMX_UPDATE_GOLDEN=1 regenerates"


def test_no_help_text_holds_what_markdown_would_eat() -> None:
    """Help is rendered as markdown: `#<network>_<channel>` came out as `#_`. Placeholders
    are written in capitals (NETWORK) as everywhere else."""
    eaten = [line for line in GOLDEN.read_text().splitlines() if re.search(r"<[a-z_]+>", line)]
    assert not eaten
