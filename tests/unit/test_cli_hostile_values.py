"""Every parameter of every command, given a hostile value, through the real CLI: the
command tree is walked (as test_cli_tree does), so a new command or option is covered
without a line here. Each value is given alone, the others benign; the outcome may be a
refusal or a run that fails at the (absent) host, but never a traceback, an exit status
outside 0/1/2/130, a refusal of more than one line, an ESC sequence of the value reaching
the terminal, or a refusal that wrote into the site.

Offline and deterministic: the inventory's host is 127.0.0.1 on a closed port (SSH is
refused at once), admin commands get --url http://127.0.0.1:9, no name is looked up in
DNS and no playbook runs. `wmx lab` is left out: its commands make or remove machines
on this computer (tests/unit/test_lab_cli.py covers its options)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from wmx.cli import app
from wmx.errors import WmxError

runner = CliRunner()

# ESC sequences (SGR, a window title, CSI as one C1 character), BEL, a line break, a
# carriage return, then length: one value tries quoting, escaping and bounds at once.
HOSTILE = "x\x1b[31mRED\x1b[0m\x1b]0;T\x07\ny\r\u009b2J" + "A" * 100_000
VALUES = {
    "str": ["", HOSTILE],
    "path": ["", HOSTILE, "/dev/zero", "DIR"],
    "num": ["-1", str(2**64), "nan"],
    "choice": [HOSTILE],
}
# A benign value for each required parameter that is not the one under test.
BENIGN = {
    "site_dir": "NEWSITE",
    "service": "synapse",
    "key": "synapse.log_level",
    "value": "INFO",
    "name": "macaroon_secret_key",
    "channel": "#wmx",
    "to": "matrix",
    "user": "@alice:fuzz.test",
    "state": "on",
    "room": "!abc:fuzz.test",
    "before": "2024-01-01",
    "alias": "#a:fuzz.test",
    "media": "mxc://fuzz.test/abc",
    "older_than": "30",
    "report": "1",
    "host": "matrix",
}
# wmx's own lock and cache files (git-ignored) may appear on a refusal; the site may not.
NOT_THE_SITE = (".wmx", ".wmx.yaml.lock", ".secrets.yml.lock", ".build.lock")


def _kind(param: Any) -> str:
    ann = param.type_descriptor.annotation
    if hasattr(ann, "__members__"):
        return "choice"
    name = getattr(ann, "__name__", str(ann))
    return {"Path": "path", "int": "num", "float": "num", "bool": "bool"}.get(name, "str")


def _commands(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    subs = getattr(command, "commands", None)
    if subs:
        for name, sub in subs.items():
            yield from _commands(sub, [*path, name])
    else:
        yield path, command


def _cases() -> Iterator[Any]:
    for path, command in _commands(typer.main.get_command(app), []):
        if path[0] == "lab":
            continue
        for param in command.params:
            kind = _kind(param)
            if kind == "bool" or getattr(param, "hidden", False):
                continue  # a hidden option is an old name: its note comes first, then this
            for n, value in enumerate(VALUES[kind]):
                yield pytest.param(
                    path, param.name, value, id=f"{' '.join(path)} {param.name} {kind}{n}"
                )


def _benign(param: Any, run: Path) -> str:
    kind = _kind(param)
    if kind == "path":
        return str(run / ("out" if param.name == "directory" else "in.txt"))
    if kind == "choice":
        return str(next(iter(param.type_descriptor.annotation.__members__.values())).value)
    return BENIGN.get(param.name, "x")


def _argv(path: list[str], target: str, value: str, run: Path, site: Path) -> list[str]:
    command: Any = typer.main.get_command(app)
    for word in path:
        command = command.commands[word]
    options: list[str] = []
    arguments: list[str] = []
    for param in command.params:
        given = value if param.name == target else _benign(param, run) if param.required else None
        if given is None:
            continue
        if param.param_type_name == "argument":
            arguments.append(given)
        else:
            options += [param.opts[0], given]
    for name, option in (("url", "--url"), ("client_url", "--client-url")):
        if name != target and any(p.name == name for p in command.params):
            options += [option, "http://127.0.0.1:9"]
    return ["--site", str(site), *path, *options, "--", *arguments]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"/"
        for p in sorted(root.rglob("*"))
        if not str(p.relative_to(root)).startswith(NOT_THE_SITE)
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("hostile") / "site"
    result = runner.invoke(app, ["init", str(site), "--defaults", "--server-name", "fuzz.test"])
    assert result.exit_code == 0, result.output
    inventory = site / "inventory.yml"
    text = inventory.read_text().replace(
        "ansible_host: 203.0.113.10", "ansible_host: 127.0.0.1\n      ansible_port: 9"
    )
    inventory.write_text(text)
    return site


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def local_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "no DNS in this test")
        return real(host, *args, **kwargs)

    def no_playbook(**_: Any) -> Any:
        raise WmxError("no playbook runs in this test")

    monkeypatch.setattr(socket, "getaddrinfo", local_only)
    monkeypatch.setattr("ansible_runner.run", no_playbook)
    monkeypatch.delenv("WMX_SITE", raising=False)
    monkeypatch.delenv("WMX_ADMIN_URL", raising=False)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("path", "target", "value"), list(_cases()))
def test_a_hostile_value_is_refused_in_one_line_or_fails_cleanly(
    path: list[str],
    target: str,
    value: str,
    template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # `wmx init NEWSITE`, `..`: under the test's directory
    site = tmp_path / "site"
    site.mkdir()
    for file in template.iterdir():
        if file.is_file():  # not the .wmx/ another test's run left in the template
            (site / file.name).write_bytes(file.read_bytes())
            (site / file.name).chmod(file.stat().st_mode)
    (tmp_path / "in.txt").write_text("hello\n")
    (tmp_path / "out").mkdir()
    value = str(tmp_path / "out") if value == "DIR" else value
    before = _tree(site)
    result = runner.invoke(app, _argv(path, target, value, tmp_path, site))
    shown = f"exit {result.exit_code}\n{result.output[-2000:]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{shown}\n{result.exception!r}"
    )
    assert "Traceback" not in result.output, shown
    assert result.exit_code in (0, 1, 2, 130), shown
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in result.output, shown
    if result.exit_code == 2:
        assert len(result.stderr.splitlines()) == 1, shown
        assert _tree(site) == before, "a refusal wrote into the site"


@pytest.mark.parametrize("value", [HOSTILE, "/tmp/" + "A" * 5000, "x\ny"])
def test_a_hostile_site_option_is_one_line_naming_it(value: str, tmp_path: Path) -> None:
    """--site is the root's: a name too long for the system was a traceback, a line break
    in it split the error into several `error:` lines."""
    result = runner.invoke(app, ["--site", value, "config", "validate"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: "), line
    assert "\x1b" not in line and len(line) < 1000, line


def test_an_empty_host_is_named_and_no_empty_line_comes_first(template: Path) -> None:
    """The restore's progress line left an empty line on stderr off a terminal, and an
    empty --to was quoted as nothing (`error: : no such host`); an empty value is now
    refused as that, for every option, before the command runs."""
    result = runner.invoke(app, ["--site", str(template), "backup", "restore", "x", "--to", ""])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "error: wmx backup restore: --to: an empty value; give one, or leave --to out "
        "(see `wmx backup restore --help`)\n"
    )
    result = runner.invoke(app, ["--site", str(template), "backup", "restore", "x", "--to", "z"])
    assert result.exit_code == 2, result.output
    assert result.stderr == "error: --to z: no such host in the inventory (matrix)\n"


def test_several_problems_stay_one_line_each(template: Path, tmp_path: Path) -> None:
    """A refusal of two wrong keys is two `error:` lines, each naming its file, line and
    key (a value's line break is escaped where it is quoted, not by joining lines)."""
    site = tmp_path / "site"
    site.mkdir()
    for name in ("wmx.yaml", "inventory.yml", "secrets.yml"):
        (site / name).write_bytes((template / name).read_bytes())
    (site / "secrets.yml").chmod(0o600)
    config = site / "wmx.yaml"
    config.write_text(config.read_text() + "bogus1: 1\nbogus2: 2\n")
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert [line.split(": ")[2] for line in lines] == ["bogus1", "bogus2"], lines
    assert all(line.startswith(f"error: {config}:") for line in lines), lines


def _options() -> Iterator[Any]:
    for path, command in _commands(typer.main.get_command(app), []):
        if path[0] == "lab":
            continue
        for param in command.params:
            if param.param_type_name == "option" and _kind(param) != "bool":
                name = max(param.opts, key=len)
                yield pytest.param(path, name, id=f"{' '.join(path)} {name}")


@pytest.mark.parametrize(("path", "option"), list(_options()))
def test_an_option_given_empty_is_refused_not_left_out(path: list[str], option: str) -> None:
    """`--limit "$HOST"` with HOST unset: an empty option had been read as one not given
    (`deploy --limit ''` deployed every host); it is refused before the command runs."""
    for value in ("", " "):
        result = runner.invoke(app, ["--site", "/nonexistent/site", *path, option, value])
        assert result.exit_code == 2, result.output
        assert f"{option}: an empty value; give one, or leave {option} out" in result.stderr
        assert "/nonexistent" not in result.output  # refused before the site is looked for


def test_an_empty_site_or_path_argument_is_refused(tmp_path: Path) -> None:
    """`--site ''` had meant the current directory, as had an empty path argument
    (`monitoring grafana ''` wrote into it)."""
    result = runner.invoke(app, ["--site", "", "config", "validate"])
    assert result.exit_code == 2, result.output
    assert "--site: an empty value" in result.stderr
    result = runner.invoke(app, ["--site", str(tmp_path), "monitoring", "grafana", ""])
    assert result.exit_code == 2, result.output
    assert "DIRECTORY: an empty path" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_rehearsal_names_its_own_option(template: Path) -> None:
    """`upgrade rehearse --on HOST` had been told to use `--to HOST`, which is its target
    release there: each refusal names the option given, and the rehearsal."""
    for argv, said in [
        ([], "name a throwaway host with --on HOST; the rehearsal installs"),
        (["--on", "z"], "--on z: no such host in the inventory (matrix)"),
        (["--on", "matrix"], "--on matrix: it serves the site"),
    ]:
        result = runner.invoke(app, ["--site", str(template), "upgrade", "rehearse", *argv])
        assert result.exit_code == 2, result.output
        assert said in result.stderr and "--to" not in result.stderr, result.stderr
