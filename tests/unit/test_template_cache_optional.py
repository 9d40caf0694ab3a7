"""The compiled-template cache (in the user's cache directory) only spares compiling: a
cache that cannot be read or written (a full disk, a directory made unwritable) is
passed over, and the render goes on; it had ended a render in a traceback."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from jinja2.bccache import FileSystemBytecodeCache

from wmx.render import render_site
from wmx.site import Site


def _refuse(code: int) -> object:
    def refused(self: object, bucket: object) -> None:
        raise OSError(code, "refused by the test")

    return refused


@pytest.mark.parametrize(
    ("side", "code", "cache"),
    [
        ("dump_bytecode", errno.ENOSPC, "empty"),  # nothing cached yet: every template written
        ("load_bytecode", errno.EACCES, "filled"),  # every template cached: each one read
    ],
)
def test_a_cache_that_refuses_leaves_the_render_whole(
    one_host: Site,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    side: str,
    code: int,
    cache: str,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "filled"))
    expected = render_site(one_host)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / cache))
    monkeypatch.setattr(FileSystemBytecodeCache, side, _refuse(code))
    assert render_site(one_host) == expected
