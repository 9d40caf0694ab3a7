"""Where a site's files are and what their names say, as a hostile operator leaves them:
the first wmx.yaml found decides, whatever it is; a `.wmx` that is no directory is named
as that; a name in secrets.yml that is no secret's is never quoted (a value may be in its
place); a sudo password given that cannot be kept is said as the value given, not as
secrets.yml's fault."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.errors import InputError
from wmx.site.secrets import store_secret

from .test_hostile_files import new_site

runner = CliRunner()
SWAPPED = "wEMjHpB0_iOWLmwnSt-S5diNxmqwqx3BXsAP1qBdvsmJioDC"


def _one_line(args: list[str], *, code: int = 2, stdin: str | None = None) -> str:
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def _directory(path: Path) -> None:
    path.mkdir()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _to_nothing(path: Path) -> None:
    path.symlink_to(path.parent / "gone.yaml")


def _to_device(path: Path) -> None:
    path.symlink_to("/dev/zero")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_directory, "is a directory, not a file"),
        (_fifo, "is a FIFO, not a regular file"),
        (_to_nothing, "a symbolic link to nothing; not a file"),
        (_to_device, "is a character device, not a regular file"),
    ],
)
def test_a_wmx_yaml_that_is_no_file_is_refused_not_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Callable[[Path], None], says: str
) -> None:
    # It had been skipped, and the parent site validated, rendered and deployed instead.
    parent = new_site(tmp_path)
    child = parent / "child"
    child.mkdir()
    make(child / "wmx.yaml")
    monkeypatch.chdir(child)
    monkeypatch.delenv("WMX_SITE", raising=False)
    line = _one_line(["config", "validate"])
    assert line == f"error: {child / 'wmx.yaml'}: {says}"


def test_without_a_parent_site_the_wmx_yaml_there_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "no wmx.yaml in DIR or its parents" had been said of a DIR holding one.
    (tmp_path / "wmx.yaml").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WMX_SITE", raising=False)
    assert _one_line(["config", "validate"]) == (
        f"error: {tmp_path / 'wmx.yaml'}: is a directory, not a file"
    )


@pytest.mark.parametrize("blocked", [".wmx", ".wmx/deployed"])
@pytest.mark.parametrize(
    "args", [["config", "validate"], ["config", "set", "synapse.log_level", "INFO"]]
)
def test_a_state_directory_that_is_a_file_is_named_as_that(
    tmp_path: Path, blocked: str, args: list[str]
) -> None:
    # `.wmx/deployed/site.json: cannot be read (Not a directory); … restore it from your
    # copy` had sent the operator after a record that was never the problem.
    site = new_site(tmp_path)
    (site / blocked).parent.mkdir(exist_ok=True)
    (site / blocked).write_text("")
    line = _one_line(["--site", str(site), *args])
    assert line.startswith(f"error: {site / blocked}: not a directory; wmx keeps"), line
    assert "site.json" not in line and "restore" not in line


def _add_to_secrets(site: Path, text: str) -> int:
    """`text` appended to secrets.yml; the line it starts at."""
    path = site / "secrets.yml"
    before = path.read_text()
    path.write_text(before + text)
    return before.count("\n") + 1


@pytest.mark.parametrize(
    "added",
    [
        f"{SWAPPED}: form\n",  # a value where its name goes
        "correct_horse_battery: x\n",  # a name-like password, close to no secret's name
        "? [a, b]\n: 1\n",
        '"a\\x1b]0;x\\x07": 1\n',
        "1: x\n",
    ],
)
def test_a_name_that_is_no_secrets_is_never_quoted(tmp_path: Path, added: str) -> None:
    site = new_site(tmp_path)
    at = _add_to_secrets(site, added)
    line = _one_line(["--site", str(site), "config", "validate"])
    assert line == (
        f"error: {site / 'secrets.yml'}:{at}: not the name of a secret wmx keeps (not shown: "
        "a value may be in its place); correct or remove that line"
    )


def test_a_misspelt_secret_is_still_named_with_the_one_meant(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    at = _add_to_secrets(site, "form_secrt: x\n")
    assert _one_line(["--site", str(site), "config", "validate"]) == (
        f"error: {site / 'secrets.yml'}:{at}: unknown secret 'form_secrt' (did you mean "
        "'form_secret'?)"
    )


@pytest.mark.parametrize("given", ["a\x1bb", "a" * 5000])
def test_a_sudo_password_that_cannot_be_kept_is_said_as_the_value_given(
    tmp_path: Path, given: str
) -> None:
    # It had been "secrets.yml:19: sudo_password: must be one line …; set it again".
    site = new_site(tmp_path)
    before = (site / "secrets.yml").read_bytes()
    line = _one_line(
        ["--site", str(site), "secrets", "sudo-password", "--stdin"], stdin=f"{given}\n"
    )
    assert line.startswith("error: sudo_password: the value given must be one line"), line
    assert "secrets.yml" not in line and given not in line
    assert (site / "secrets.yml").read_bytes() == before


def test_a_sudo_password_not_utf8_is_refused_not_kept_as_surrogates(tmp_path: Path) -> None:
    # Standard input of bytes that are not UTF-8 (`printf '\xff\xfe'`) comes to Python as
    # lone surrogates (surrogateescape); they had been stored as "\uDCFF\uDCFE".
    site = new_site(tmp_path)
    before = (site / "secrets.yml").read_bytes()
    with pytest.raises(InputError, match=r"^sudo_password: the value given is not UTF-8 text"):
        store_secret(site / "secrets.yml", "sudo_password", "\udcff\udcfe")
    assert (site / "secrets.yml").read_bytes() == before
