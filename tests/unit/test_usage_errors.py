"""A command line wmx cannot parse is one line on stderr in wmx's house style, exit 2:
`error: wmx deploy: no such option --bogus (see `wmx deploy --help`)`, never Typer's usage
and box of several lines. For every kind of click usage error, at every depth (the root,
a group, a subgroup, lazily built commands, the generated admin commands); `--help`, `wmx`
alone and shell completion stay as they were. (wmx.present_usage)"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.core import TyperCommand, TyperGroup
from typer.testing import CliRunner

from wmx.cli import app

runner = CliRunner()
WMX = Path(sys.executable).with_name("wmx")


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A command line that parsed after all must fail the test, never run a command."""

    def parsed(self: TyperCommand, ctx: typer.Context) -> None:
        raise AssertionError(f"`{ctx.command_path}` parsed and would have run")

    monkeypatch.setattr(TyperCommand, "invoke", parsed)
    monkeypatch.setenv("WMX_SITE", str(tmp_path / "no-site"))


def _one_line(args: list[str]) -> str:
    result = runner.invoke(app, args, env={"COLUMNS": "60"})
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert result.stdout == "", (args, result.stdout)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, (args, result.stderr)
    line = lines[0]
    assert line.startswith("error: wmx"), line
    for old in ("╭", "│", "Usage:", "Try '", "Possible options", "Input should be"):
        assert old not in line, line
    return line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # NoSuchOption, a close option suggested and a far one not
        (
            ["deploy", "--bogus"],
            "error: wmx deploy: no such option --bogus (see `wmx deploy --help`)",
        ),
        (["deploy", "--verbos"], "wmx deploy: no such option --verbos; did you mean --verbose?"),
        (["--bogus"], "error: wmx: no such option --bogus (see `wmx --help`)"),
        # wmx's own option after the command (the lab's `wmx lab up --site` invites it)
        (
            ["config", "get", "server_name", "--site", "s"],
            "wmx config get: no such option --site: it is wmx's own, and goes before the "
            "command (`wmx --site … config get`)",
        ),
        (["deploy", "-s", "s"], "no such option -s: it is wmx's own"),
        # …but not for init, whose argument is the directory, nor for a flag
        (["init", "--site", "s"], "the new site's directory is init's argument (`wmx init DIR`)"),
        (["deploy", "--version"], "wmx deploy: no such option --version (see `wmx deploy --help`)"),
        # A negative number is a value after `--` (seen: `wmx config set KEY -5` said
        # only "no such option -5")
        (
            ["config", "set", "synapse.max_upload_size_mb", "-5"],
            "wmx config set: no such option -5; to give -5 as a value, put `--` before it "
            "(see `wmx config set --help`)",
        ),
        (
            ["room", "alias", "--bogus"],
            "wmx room alias: no such option --bogus (see `wmx room alias --help`)",
        ),
        (
            ["user", "create", "zed", "--password", "hunter2"],
            "wmx user create: no such option --password; did you mean --password-file?",
        ),
        # "No such command", with a close suggestion only
        (
            ["usr", "list"],
            "error: wmx: no such command 'usr'; did you mean 'user'? (see `wmx --help`)",
        ),
        (["room", "aliass"], "wmx room: no such command 'aliass'; did you mean 'alias'? (see"),
        (
            ["room", "alias", "bogus"],
            "wmx room alias: no such command 'bogus' (see `wmx room alias --help`)",
        ),
        (["user", "lst"], "wmx user: no such command 'lst'; did you mean 'list'?"),
        # MissingParameter: argument, option, a choice's choices
        (
            ["user", "create"],
            "wmx user create: missing argument LOCALPART (see `wmx user create --help`)",
        ),
        (["config", "set", "a"], "wmx config set: missing argument VALUE"),
        (["lab", "snapshot", "lab1"], "wmx lab snapshot: missing option --name"),
        (["backup", "restore", "x"], "wmx backup restore: missing option --to"),
        (
            ["user", "admin", "alice"],
            "wmx user admin: missing argument STATE; choose from: on, off",
        ),
        # BadParameter: whole numbers, ranges, choices (enums), paths that must exist
        (
            ["lab", "up", "-n", "abc"],
            "error: wmx lab up: --hosts: 'abc' is not a whole number (see `wmx lab up --help`)",
        ),
        (["logs", "synapse", "-n", "x"], "wmx logs: --lines: 'x' is not a whole number"),
        (
            ["media", "list", "--limit", "1.5"],
            "wmx media list: --limit: '1.5' is not a whole number",
        ),
        (["reports", "show", "x"], "wmx reports show: REPORT: 'x' is not a whole number"),
        (["lab", "up", "-n", "0"], "wmx lab up: --hosts: 0 is out of range (1 to 200)"),
        (["lab", "up", "-n", "999"], "wmx lab up: --hosts: 999 is out of range (1 to 200)"),
        (["status", "--interval", "1"], "wmx status: --interval: 1 is too small (at least 2)"),
        (
            ["regtoken", "create", "--length", "99"],
            "wmx regtoken create: --length: 99 is out of range (1 to 64)",
        ),
        (
            ["user", "list", "--output", "xml"],
            "wmx user list: --output: 'xml' is not one of 'table', 'json', 'yaml'",
        ),
        (["dns", "-o", "xml"], "wmx dns: --output: 'xml' is not one of 'table', 'zone', 'json'"),
        (
            ["upgrade", "plan", "--component", "bogus"],
            "wmx upgrade plan: --component: 'bogus' is not one of 'synapse', 'irc-bridge', "
            "'web-client'",
        ),
        (
            ["user", "admin", "alice", "maybe"],
            "wmx user admin: STATE: 'maybe' is not one of 'on', 'off'",
        ),
        # Typer's checks of a file or directory (`file '/x' does not exist.`), in wmx's words
        (
            ["notice", "send", "--file", "/nonexistent/message", "x"],
            "wmx notice send: --file: /nonexistent/message: no such file (see",
        ),
        (["user", "import", "/"], "wmx user import: CSV_FILE: /: is a directory, not a file"),
        (["irc", "plumb-file", "/"], "wmx irc plumb-file: PATH: /: is a directory, not a file"),
        (
            ["monitoring", "grafana", __file__],
            f"wmx monitoring grafana: DIRECTORY: {__file__}: is a file, not a directory",
        ),
        # BadOptionUsage: a value missing, a flag given one
        (["--site"], "error: wmx: --site needs a value (see `wmx --help`)"),
        (["-s"], "error: wmx: -s needs a value"),
        (["lab", "up", "--hosts"], "wmx lab up: --hosts needs a value (see `wmx lab up --help`)"),
        (["user", "list", "--limit"], "wmx user list: --limit needs a value"),
        (["deploy", "--verbose=3"], "wmx deploy: --verbose takes no value"),
        # extra arguments; a group given options but no command
        (
            ["deploy", "extra"],
            "wmx deploy: 1 unexpected argument (not repeated here) (see `wmx deploy --help`)",
        ),
        (["render", "a", "b"], "wmx render: 2 unexpected arguments (not repeated here)"),
        (["render", "a password"], "wmx render: 1 unexpected argument (not repeated here)"),
        (["--site", "x"], "error: wmx: missing command (see `wmx --help`)"),
    ],
)
def test_a_usage_error_is_one_line(args: list[str], expected: str) -> None:
    line = _one_line(args)
    assert expected in line, line


def test_a_file_that_cannot_be_read_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda *_args, **_kwargs: False)  # as root, all is
    line = _one_line(["user", "import", __file__])
    assert f"CSV_FILE: {__file__}: cannot be read (permission denied) (see" in line, line


def test_an_extra_argument_is_not_echoed() -> None:
    """A password typed where no argument belongs stays off the screen and its logs."""
    line = _one_line(["user", "create", "zed", "hunter2"])
    assert "hunter2" not in line and "1 unexpected argument" in line, line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["us\nr"], "no such command 'us\\nr'"),
        (["deploy", "--bo\x1b[31mgus"], "no such option '--bo\\x1b[31mgus'"),
        (["lab", "up", "-n", "a\nb"], "--hosts: 'a\\nb' is not a whole number"),
        (["user", "list", "-o", "\u202ejson"], "'\\u202ejson' is not one of"),
        (["notice", "send", "--file", "/no\nfile", "x"], "--file: '/no\\nfile': no such file"),
        (["lab", "up", "-n", "9" * 100], "'" + "9" * 64 + "…' is out of range"),
    ],
)
def test_what_is_echoed_is_escaped(args: list[str], expected: str) -> None:
    line = _one_line(args)
    assert expected in line, line
    assert line.isprintable(), repr(line)


def _tree() -> Iterator[tuple[list[str], typer.core.TyperCommand | TyperGroup]]:
    def walk(command: object, path: list[str]) -> Iterator[tuple[list[str], object]]:
        yield path, command
        if isinstance(command, TyperGroup):
            for name in command.list_commands(None):  # type: ignore[arg-type]
                yield from walk(command.commands[name], [*path, name])

    yield from walk(typer.main.get_command(app), [])  # type: ignore[misc]


TREE = list(_tree())


@pytest.mark.parametrize("path", [p for p, _ in TREE], ids=lambda p: " ".join(p) or "wmx")
def test_every_command_refuses_an_unknown_option_in_one_line(path: list[str]) -> None:
    shown = " ".join(["wmx", *path])
    line = _one_line([*path, "--no-such-option"])
    assert line == f"error: {shown}: no such option --no-such-option (see `{shown} --help`)"


@pytest.mark.parametrize(
    "path", [p for p, c in TREE if isinstance(c, TyperGroup)], ids=lambda p: " ".join(p) or "wmx"
)
def test_every_group_refuses_an_unknown_command_in_one_line(path: list[str]) -> None:
    shown = " ".join(["wmx", *path])
    line = _one_line([*path, "no-such-command"])
    assert line == f"error: {shown}: no such command 'no-such-command' (see `{shown} --help`)"


def _number_options() -> Iterator[tuple[list[str], str, int]]:
    """(command, an option taking a whole number, how many arguments the command needs)."""
    for path, command in TREE:
        needed = sum(1 for p in command.params if p.param_type_name == "argument" and p.required)
        for param in command.params:
            annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            if param.param_type_name == "option" and annotation in (int, int | None):
                yield path, param.opts[0], needed


NUMBER_OPTIONS = list(_number_options())


@pytest.mark.parametrize(
    ("path", "option", "needed"),
    NUMBER_OPTIONS,
    ids=[f"{' '.join(p)} {o}" for p, o, _ in NUMBER_OPTIONS],
)
def test_every_number_option_refuses_a_word_in_one_line(
    path: list[str], option: str, needed: int
) -> None:
    line = _one_line([*path, option, "abc", *["x"] * needed])
    shown = " ".join(["wmx", *path])
    assert line.startswith(f"error: {shown}: --"), line
    assert line.endswith(f": 'abc' is not a whole number (see `{shown} --help`)"), line


def test_the_tree_is_walked_whole() -> None:
    assert len(TREE) > 100  # every command and group, the admin ones and lab's included
    assert len(NUMBER_OPTIONS) > 10
    paths = {" ".join(p) for p, _ in TREE}
    assert {"room alias", "user create", "lab up", "media list", "deploy"} <= paths


@pytest.mark.parametrize(
    "args", [["--help"], ["deploy", "--help"], ["room", "alias", "--help"], ["--version"]]
)
def test_help_and_version_still_exit_0(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout


@pytest.mark.parametrize("args", [[], ["room"], ["room", "alias"], ["user"]])
def test_a_group_alone_still_prints_its_help(args: list[str]) -> None:
    """`no_args_is_help`: the help on stdout and exit 2, as before."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "Usage: wmx" in result.stdout
    assert "error:" not in result.output


def _real(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "60", "NO_COLOR": "1", **env}
    return subprocess.run(
        [str(WMX), *args], capture_output=True, text=True, env=environment, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["deploy", "--bogus"],
            "error: wmx deploy: no such option --bogus (see `wmx deploy --help`)\n",
        ),
        (
            ["usr", "list"],
            "error: wmx: no such command 'usr'; did you mean 'user'? (see `wmx --help`)\n",
        ),
        (["--site"], "error: wmx: --site needs a value (see `wmx --help`)\n"),
        (
            ["user", "create"],
            "error: wmx user create: missing argument LOCALPART (see `wmx user create --help`)\n",
        ),
    ],
)
def test_the_wmx_command_says_it_in_one_line(args: list[str], expected: str) -> None:
    done = _real(*args)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", expected)


def test_the_wmx_command_keeps_help_and_completion() -> None:
    helped = _real("deploy", "--help")
    assert helped.returncode == 0 and "Usage: wmx deploy" in helped.stdout
    alone = _real()
    assert alone.returncode == 2 and "Usage: wmx" in alone.stdout and alone.stderr == ""
    words = {"_WMX_COMPLETE": "complete_bash", "COMP_WORDS": "wmx room al", "COMP_CWORD": "2"}
    completed = _real(**words)
    assert (completed.returncode, completed.stdout.split(), completed.stderr) == (0, ["alias"], "")
    # completion past a word wmx would refuse is still completion, not an error line
    words = {
        "_WMX_COMPLETE": "complete_bash",
        "COMP_WORDS": "wmx deploy --bogus --",
        "COMP_CWORD": "3",
    }
    completed = _real(**words)
    assert completed.returncode == 0 and "--check" in completed.stdout.split()
