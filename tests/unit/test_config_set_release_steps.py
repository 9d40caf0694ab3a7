"""A new web client release is set one key after the other (`web_client.archive`, then
`.version` and `.sha256`): `wmx config set` checks the archive itself and lets an edit
between two keys through; the agreement of the three is checked by the load and the
deploy (which refuses and keeps the running client). Since 5a89069 config set had
refused the first step, which the e2e release switch (test_chat_experience) does."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.lab.element import write_standin_archive

runner = CliRunner()


def _set(site: Path, key: str, value: object) -> tuple[int, str]:
    result = runner.invoke(app, ["--site", str(site), "config", "set", key, json.dumps(value)])
    return result.exit_code, result.output


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    result = runner.invoke(app, ["init", str(root), "--defaults", "--server-name", "example.org"])
    assert result.exit_code == 0, result.output
    old = write_standin_archive(tmp_path, "0.1.8-wmxlab", note="old")
    assert _set(root, "web_client.archive", str(old))[0] == 0
    assert _set(root, "web_client.version", "0.1.8-wmxlab")[0] == 0
    return root


def test_a_new_release_is_set_one_key_after_the_other(site: Path, tmp_path: Path) -> None:
    newer = write_standin_archive(tmp_path, "0.1.9-wmxlab", note="newer")
    code, output = _set(site, "web_client.archive", str(newer))
    assert code == 0, output
    # Between two keys the site disagrees with itself, and a load says so …
    validate = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert validate.exit_code == 2 and "web_client.version says 0.1.8-wmxlab" in validate.output
    # … until the next key is set.
    assert _set(site, "web_client.version", "0.1.9-wmxlab")[0] == 0
    assert runner.invoke(app, ["--site", str(site), "config", "validate"]).exit_code == 0


def _cinny_archive(directory: Path, version: str) -> Path:
    path = directory / f"cinny-v{version}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        page = b"<html><body>Cinny</body></html>"
        info = tarfile.TarInfo(f"cinny-v{version}/index.html")
        info.size = len(page)
        archive.addfile(info, io.BytesIO(page))
    return path


def test_another_client_is_set_archive_first(site: Path, tmp_path: Path) -> None:
    """test_web_client's switch to Cinny: archive, checksum, version, then kind."""
    cinny = _cinny_archive(tmp_path, "4.2.2")
    for key, value in [
        ("web_client.archive", str(cinny)),
        ("web_client.sha256", None),
        ("web_client.version", "4.2.2"),
        ("web_client.kind", "cinny"),
    ]:
        code, output = _set(site, key, value)
        assert code == 0, (key, output)
    assert runner.invoke(app, ["--site", str(site), "config", "validate"]).exit_code == 0


def test_a_checksum_that_does_not_match_is_left_to_the_deploy(site: Path) -> None:
    code, output = _set(site, "web_client.sha256", "0" * 64)
    assert code == 0, output


@pytest.mark.parametrize("archive", ["/dev/zero", "../../etc/passwd"])
def test_an_archive_that_is_none_is_still_refused(site: Path, archive: str) -> None:
    before = (site / "wmx.yaml").read_text()
    code, output = _set(site, "web_client.archive", archive)
    assert code == 2, output
    assert (site / "wmx.yaml").read_text() == before
