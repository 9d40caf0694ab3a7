"""`wmx backup export-key --dir DIR`: its directory had been `-o/--output`, which is an
output format in every other command (`-o json` wrote the keys into ./json). The old
name is still read, said so on stderr; a format given to it is refused, naming --dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmx.backup.present import key_directory
from wmx.errors import InputError


def test_dir_is_the_directory(tmp_path: Path) -> None:
    assert key_directory(tmp_path, None) == tmp_path


def test_the_old_name_still_works_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert key_directory(Path("."), tmp_path) == tmp_path
    assert "--output/-o is now --dir/-d" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["json", "yaml", "table"])
def test_a_format_is_refused_naming_dir(fmt: str) -> None:
    with pytest.raises(InputError, match=rf"has no output format: --dir DIR .* not -o {fmt}"):
        key_directory(Path("."), Path(fmt))
