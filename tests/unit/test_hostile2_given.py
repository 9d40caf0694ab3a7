"""Values given on the command line, and passwords asked of a script.

A value that names no host, repository or readable file was quoted raw in its error: a
line break split the one line in two, a terminal's escape sequence reached the terminal
(ESC [2J clears it). A channel list was read without end (/dev/zero) or was a traceback
when not UTF-8; Grafana's files written where they cannot be, a traceback. A password
asked without echo of a standard input that is no terminal (a script, </dev/null) was
Python's GetPassWarning and 'Aborted.', exit 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.hostile2_support import init_site, one_line_refusal
from wmx.cli import app
from wmx.site.given import MAX_SHOWN, given

runner = CliRunner()
HOSTILE = "a\x1b[2Jb\nc"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_site(tmp_path_factory.mktemp("given") / "site")


def _refused(site: Path, args: list[str], *says: str, stdin: str | None = None) -> str:
    line = one_line_refusal(runner.invoke(app, ["--site", str(site), *args], input=stdin), *says)
    assert "\x1b" not in line
    return line


def test_given_quotes_what_is_no_plain_text() -> None:
    assert given("matrix") == "matrix"
    assert given(Path("/tmp/x y")) == "/tmp/x y"
    assert given(HOSTILE) == repr(HOSTILE)
    long = given("a" * 100_000)
    assert long.startswith("'aaa") and long.endswith("'…") and len(long) < MAX_SHOWN + 10


@pytest.mark.parametrize(
    "args",
    [
        ["logs", "synapse", "--host", HOSTILE],
        ["backup", "list", "--host", HOSTILE],
        ["backup", "export-key", "--repo", HOSTILE],
        ["user", "create", "alice", "--password-file", HOSTILE],
        ["irc", "plumb-file", HOSTILE],
    ],
)
def test_a_hostile_value_is_quoted_on_its_one_line(site: Path, args: list[str]) -> None:
    assert repr(HOSTILE) in _refused(site, args)


@pytest.mark.timeout(60)
def test_a_channel_list_is_never_read_without_end(site: Path) -> None:
    _refused(site, ["irc", "plumb-file", "/dev/zero"], "larger than", "not a channel list")


def test_a_channel_list_that_is_not_utf8_is_one_line(site: Path, tmp_path: Path) -> None:
    (tmp_path / "channels.yaml").write_bytes(b"- '#a\xff'\n")
    _refused(site, ["irc", "plumb-file", str(tmp_path / "channels.yaml")], "not UTF-8")


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["secrets", "sudo-password"], "", "standard input ended before the sudo password"),
        (["config", "smtp-password"], "", "give it as one line with --stdin"),
        (["login", "client-secret"], "Xq9secret\n", "standard input ended before"),
        (["secrets", "sudo-password"], "Xq9first\nXq9other\n", "the two lines given"),
        (["user", "create", "alice", "--url", "http://127.0.0.1:1"], "", "--generate-password"),
    ],
)
def test_a_password_asked_of_a_script_is_one_line(
    site: Path, args: list[str], stdin: str, says: str
) -> None:
    before = (site / "secrets.yml").read_bytes()
    line = _refused(site, args, says, stdin=stdin)
    assert "Xq9" not in line
    assert (site / "secrets.yml").read_bytes() == before


def test_a_password_given_on_a_pipe_twice_is_taken(site: Path) -> None:
    result = runner.invoke(
        app, ["--site", str(site), "secrets", "sudo-password"], input="s3cret\ns3cret\n"
    )
    assert result.exit_code == 0, result.stderr
    assert "s3cret" not in result.output
    assert "s3cret" in (site / "secrets.yml").read_text()


@pytest.mark.parametrize("directory", ["/dev/zero", "A" * 300])
def test_grafana_files_that_cannot_be_written_are_one_line(site: Path, directory: str) -> None:
    _refused(site, ["monitoring", "grafana", directory], "cannot write Grafana's files")


@pytest.mark.parametrize(
    ("value", "says"),
    [("../../../../../../etc/passwd", "not a .tar.gz archive"), ("/dev/zero", "web_client")],
)
def test_config_set_never_writes_what_a_load_refuses(site: Path, value: str, says: str) -> None:
    before = (site / "wmx.yaml").read_bytes()
    line = _refused(site, ["config", "set", "web_client.archive", value], says)
    assert line.startswith("error: given on the command line: web_client.archive")
    assert (site / "wmx.yaml").read_bytes() == before
    validated = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert validated.exit_code == 0, validated.stderr


def test_doctor_skip_quotes_an_unknown_kind(site: Path) -> None:
    assert repr(HOSTILE) in _refused(site, ["doctor", "--skip", HOSTILE], "no such check")
