"""Files named on the command line are read to a bound: /dev/zero (or any file that never
ends) is refused, not read until memory runs out; a pipe (`<(pass show x)`) still works.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.admin.notices import notice_body
from wmx.admin.passwords import read_password_file
from wmx.admin.user_import import parse_user_csv
from wmx.cli import app
from wmx.errors import InputError

from .test_hostile_files import new_site

runner = CliRunner()


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "read",
    [
        read_password_file,
        lambda path: parse_user_csv(path, "example.test"),
        lambda path: notice_body(None, path),
    ],
    ids=["password-file", "user-csv", "notice-file"],
)
def test_a_file_that_never_ends_is_refused(read: object) -> None:
    with pytest.raises(InputError, match=r"^/dev/zero: larger than [\d,]+ bytes; not a"):
        read(Path("/dev/zero"))  # type: ignore[operator]


@pytest.mark.parametrize("read", [read_password_file, lambda p: notice_body(None, p)])
def test_a_directory_is_refused(tmp_path: Path, read: object) -> None:
    with pytest.raises(InputError, match="directory"):
        read(tmp_path)  # type: ignore[operator]


@pytest.mark.timeout(30)
def test_a_pipe_is_read_as_process_substitution_gives_it() -> None:
    read_end, write_end = os.pipe()

    def write() -> None:
        os.write(write_end, b"correct horse battery\n")
        os.close(write_end)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert read_password_file(Path(f"/dev/fd/{read_end}")) == "correct horse battery"
    finally:
        writer.join()
        os.close(read_end)


@pytest.mark.timeout(60)
def test_the_cli_refuses_dev_zero_as_password_file_in_one_line(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    result = runner.invoke(
        app, ["--site", str(site), "user", "create", "alice", "--password-file", "/dev/zero"]
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: /dev/zero: larger than 65,536 bytes; not a password file"]
