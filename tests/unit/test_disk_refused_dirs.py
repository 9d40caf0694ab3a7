"""A directory given on the command line (`wmx monitoring grafana DIR`, `wmx backup
export-key --dir DIR`) on a disk that refuses a write: exit 1, the disk's refusal, not a
wrong DIR (exit 2); for Grafana, no new provisioning file left pointing at dashboards
that were never written."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from typer.testing import CliRunner

import wmx.site.yamlfile as yamlfile
from tests.unit.hostile2_support import init_site
from wmx.cli import app


def test_a_full_disk_halfway_leaves_no_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = init_site(tmp_path / "site")
    out = tmp_path / "grafana"
    real = yamlfile._temporary
    made: list[Path] = []

    def third_refused(directory: int, target: Path) -> tuple[int, str]:
        """The disk is full from the third file on (write_atomically's temporary file)."""
        made.append(target)
        if len(made) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(directory, target)

    monkeypatch.setattr(yamlfile, "_temporary", third_refused)
    result = CliRunner().invoke(app, ["--site", str(site), "monitoring", "grafana", str(out)])
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and "No space left on device" in result.stderr
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_a_directory_that_is_a_file_is_still_a_usage_error(tmp_path: Path) -> None:
    site = init_site(tmp_path / "site")
    out = tmp_path / "a-file"
    out.write_text("")
    result = CliRunner().invoke(app, ["--site", str(site), "monitoring", "grafana", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1


def test_export_key_into_a_read_only_place_is_the_disks_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wmx.backup.operations as operations
    from wmx.errors import WriteRefused

    def read_only(path: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(operations, "make_directory", read_only)
    keys = operations.export_key_files(
        None,  # type: ignore[arg-type]  # never reached: the directory comes first
        ["local"],
        tmp_path / "keys",
        "example.test",
        paper=False,
    )
    with pytest.raises(WriteRefused) as refused:
        next(keys)
    assert refused.value.exit_code == 1 and "Read-only file system" in str(refused.value)
