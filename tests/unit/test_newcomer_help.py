"""`--help` as a newcomer reads it: every command's help writes a flag without a type
(Typer 0.29 wrote `--check <bool>`, which reads as if `--check true` were the way), a
repeatable option with its item's type (not `<list[str]>`), and arguments in capitals
as the docs write them (`wmx user show USER`, not `{user}`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import typer
from typer._click.core import Command  # typer vendors click
from typer.core import TyperGroup
from typer.testing import CliRunner

from wmx.cli import app

runner = CliRunner()


def _paths(command: Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, TyperGroup):
        for name in command.commands:
            sub = command.commands[name]
            yield from _paths(sub, (*path, name))


def _help(*words: str) -> str:
    result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (words, result.output)
    return result.stdout


def test_no_help_shows_a_python_type_for_a_flag_or_a_list() -> None:
    wrong = []
    for path in _paths(typer.main.get_command(app), ()):
        text = _help(*path)
        for bad in (r"<bool>", r"<list\[", r"\{[a-z_]+\}"):  # `{user}` in the usage line
            if re.search(bad, text):
                wrong.append(f"wmx {' '.join(path)}: {bad}")
    assert not wrong, wrong


def test_flags_stand_alone_and_arguments_are_in_capitals() -> None:
    text = _help("deploy")
    check = next(line for line in text.splitlines() if "--check" in line)
    assert check.split("--check", 1)[1].split()[0] == "Dry"
    assert "--only             <str>" in text
    assert "Usage: wmx user show [OPTIONS] USER" in _help("user", "show")
    assert "Usage: wmx irc plumb [OPTIONS] CHANNEL [ROOM]" in _help("irc", "plumb")
    assert "Usage: wmx lab snapshot [OPTIONS] HOSTS…" in _help("lab", "snapshot")


def test_a_missing_argument_is_named_in_capitals() -> None:
    result = runner.invoke(app, ["user", "show"])
    assert result.exit_code == 2
    assert "missing argument USER" in result.output
