"""A file named on the command line may not be the one meant: `wmx user import
secrets.yml`, `wmx irc plumb-file notes.md`. Its lines can hold secrets, and an error must
not print them into a terminal or a CI log: what a file holds is quoted only where it
plausibly is what the command reads (a column's name, a channel), else named by its place
(line, column, entry). Each case feeds a file holding a unique marker and looks for it in
everything wmx printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.admin.notices import notice_body
from wmx.admin.passwords import read_password_file
from wmx.admin.user_import import parse_user_csv
from wmx.cli import app
from wmx.errors import InputError
from wmx.irc.channels import parse_channel_file
from wmx.present import trust

from .test_hostile_files import new_site
from .test_irc_bridge import ONE_HOST
from .test_irc_bridge import site as irc_site

runner = CliRunner()
MARK = "s3cr3t-MARK-4b1e9"
# The first lines of a site's secrets.yml, as a hand-edited one may begin.
SECRETS_YML = f"registration_shared_secret: {MARK}\nform_secret: {MARK}x\n"


def _refused(read: object, path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read(path)  # type: ignore[operator]
    message = str(caught.value)
    assert MARK not in message and MARK[-5:] not in message, message
    return message.replace(f"{path.parent}/", "")


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "people.csv"
    path.write_text(text)
    return _refused(lambda p: parse_user_csv(p, "example.test"), path)


# --- wmx user import ---------------------------------------------------------------


def test_a_foreign_first_line_is_not_quoted_as_a_header(tmp_path: Path) -> None:
    message = _csv(tmp_path, SECRETS_YML)
    assert message.startswith("people.csv:1: not a header of known columns"), message
    assert "localpart, user_id, display_name, email, admin, password" in message


def test_a_passwords_out_file_fed_back_is_not_quoted(tmp_path: Path) -> None:
    """--passwords-out writes `user_id,password` lines, no header."""
    assert "not a header" in _csv(tmp_path, f"@alice:example.test,{MARK}\n")


def test_an_unknown_column_is_named_by_its_place(tmp_path: Path) -> None:
    message = _csv(tmp_path, f"localpart,{MARK},Display Name\nalice,x,Alice\n")
    assert "people.csv:1: columns 2, 3 (display_name?) are not known columns" in message


@pytest.mark.parametrize(
    ("row", "said"),
    [
        (f"alice,pa,{MARK}", "people.csv:2: admin: not yes or no"),  # admin left out
        (f"alice,pa,yes,{MARK}", "people.csv:2: email: not an e-mail address"),
        (f"{MARK} x,pw,no", "people.csv:2: localpart: not a Matrix user id"),
    ],
)
def test_a_row_of_a_file_with_passwords_quotes_no_value(
    tmp_path: Path, row: str, said: str
) -> None:
    """A password holding an unquoted comma spills into the next cells."""
    message = _csv(tmp_path, f"localpart,password,admin,email\n{row}\n")
    assert said in message, message
    assert message.endswith("(values not repeated here: the file has a password column)")


def test_more_values_than_columns_are_refused(tmp_path: Path) -> None:
    """`alice,pa,ss` under `localpart,password` had been imported with the password `pa`."""
    message = _csv(tmp_path, f"localpart,password\nalice,pa,{MARK}\n")
    assert message.startswith("people.csv:2: 3 values for 2 columns (a value holding a comma")


def test_a_file_without_passwords_still_quotes_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("localpart,email\nalice,nope\n")
    with pytest.raises(InputError, match=r"people\.csv:2: email: 'nope' is not an e-mail"):
        parse_user_csv(path, "example.test")


def test_a_field_over_the_csv_limit_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("localpart,password\nalice," + "x" * 200_000 + "\n")
    with pytest.raises(InputError, match=r"/people.csv:2: not CSV \(field larger than"):
        parse_user_csv(path, "example.test")  # it had been a csv.Error's traceback


def test_the_cli_prints_no_line_of_a_foreign_file(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    result = runner.invoke(app, ["--site", str(site), "user", "import", str(site / "secrets.yml")])
    assert result.exit_code == 2, result.output
    values = [
        line.split(": ", 1)[1]
        for line in (site / "secrets.yml").read_text().splitlines()
        if ": " in line and not line.startswith(("#", "secrets_version"))
    ]
    assert values and not any(v in result.output for v in values if len(v) > 3)
    assert result.stderr.splitlines() == [
        f"error: {site / 'secrets.yml'}:1: not a header of known columns (the line is not "
        "repeated here); the first line names the columns: localpart, user_id, display_name, "
        "email, admin, password"
    ]


# --- wmx irc plumb-file --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (f"!{MARK} x\n", "x.yaml:1: not YAML: could not determine a constructor for the tag …"),
        (f"- *{MARK}\n", "x.yaml:1: not YAML: found undefined alias …"),
        (f"- the password is {MARK}\n", "x.yaml: entry 1: not an IRC channel name (such as"),
        (f"{MARK}-{'x' * 30}: 1\n", "x.yaml: 1 unknown key(s) (not shown)"),
        (f"- channel: '#a'\n  token_{MARK}_{'y' * 20}: 1\n  via: z\n", "unknown key(s) via and 1"),
        ("1: a\nb: c\n", "x.yaml: unknown key(s) b and 1 not shown"),  # had been a TypeError
    ],
)
def test_a_channel_list_quotes_nothing_foreign(tmp_path: Path, text: str, said: str) -> None:
    s = irc_site(tmp_path, ONE_HOST)
    path = tmp_path / "x.yaml"
    path.write_text(text)
    message = _refused(lambda p: parse_channel_file(p, s), path)
    assert said in message, message


def test_a_channel_name_as_written_is_still_quoted(tmp_path: Path) -> None:
    s = irc_site(tmp_path, ONE_HOST)
    path = tmp_path / "x.yaml"
    path.write_text("- '#wikimedia de'\n")
    with pytest.raises(InputError, match="entry 1: '#wikimedia de' is not an IRC channel name"):
        parse_channel_file(path, s)


# --- the other readers: none quotes what it read ----------------------------------------


def test_the_other_readers_quote_nothing_of_the_file(tmp_path: Path) -> None:
    """--password-file (its first line is the password), a notice's --file (its text is
    the notice) and --ca-file: their errors name the file, never its text."""
    empty_first = tmp_path / "secrets.yml"
    empty_first.write_text("\n" + SECRETS_YML)
    assert "the password file is empty" in _refused(read_password_file, empty_first)
    not_utf8 = tmp_path / "binary"
    not_utf8.write_bytes(SECRETS_YML.encode() + b"\xff")
    assert "cannot read the message" in _refused(lambda p: notice_body(None, p), not_utf8)
    pem = tmp_path / "ca.pem"
    pem.write_text(f"-----BEGIN CERTIFICATE-----\n{MARK}\n-----END CERTIFICATE-----\n")
    assert "not a PEM CA bundle" in _refused(trust, pem)


def test_config_set_of_an_archive_quotes_nothing_of_the_file(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    foreign = tmp_path / "secrets-copy.yml"
    foreign.write_text(SECRETS_YML)
    result = runner.invoke(
        app, ["--site", str(site), "config", "set", "web_client.archive", str(foreign)]
    )
    assert result.exit_code == 2, result.output
    assert MARK not in result.output and "not a .tar.gz archive" in result.stderr
