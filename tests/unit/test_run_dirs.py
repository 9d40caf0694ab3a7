"""Run directories: naming, privacy, pruning, and what is trimmed from ansible-runner's record."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.unit.test_run_unsafe import load_unsafe_yaml
from wmx.run.rundirs import (
    create_run_dir,
    encode_extravars,
    encode_host_vars,
    new_run_id,
    prune_runs,
    trim_command_record,
    write_extravars,
    write_host_vars,
    write_transcript,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_run_ids_sort_by_time() -> None:
    earlier = new_run_id(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    later = new_run_id(datetime(2025, 1, 2, 3, 4, 6, tzinfo=UTC))
    assert earlier.startswith("20250102T030405Z-")
    assert len(earlier) == len("20250102T030405Z-") + 6
    assert earlier < later


def test_run_dirs_are_private_even_with_a_lax_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        run_dir = create_run_dir(tmp_path / "site" / ".wmx" / "runs")
    finally:
        os.umask(previous)
    assert mode(run_dir) == 0o700
    assert mode(run_dir.parent) == 0o700


def test_existing_runs_dir_is_made_private(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir(mode=0o755)
    create_run_dir(runs_dir)
    assert mode(runs_dir) == 0o700


def test_pruning_keeps_the_newest_runs_and_nothing_else_is_touched(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    names = [f"202501{day:02d}T000000Z-abcdef" for day in range(1, 26)]
    for name in names:
        (runs_dir / name).mkdir(parents=True)
    (runs_dir / "notes").mkdir()
    (runs_dir / "README").write_text("operator's file")

    deleted = prune_runs(runs_dir, keep=20)

    assert [path.name for path in deleted] == names[:5]
    remaining = sorted(path.name for path in runs_dir.iterdir())
    assert remaining == sorted([*names[5:], "notes", "README"])


def test_a_new_run_leaves_at_most_keep_runs(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    for day in range(1, 6):
        (runs_dir / f"202501{day:02d}T000000Z-abcdef").mkdir(parents=True)

    newest = create_run_dir(runs_dir, keep=3)

    remaining = sorted(path.name for path in runs_dir.iterdir())
    assert remaining == ["20250104T000000Z-abcdef", "20250105T000000Z-abcdef", newest.name]


def test_extravars_file_is_owner_only_unsafe_yaml(tmp_path: Path) -> None:
    encoded = encode_extravars({"synapse_version": "1.120.0", "build": tmp_path})
    path = write_extravars(tmp_path / "run", encoded)
    assert path == tmp_path / "run" / "env" / "extravars"
    assert mode(path) == 0o600
    assert load_unsafe_yaml(path.read_text()) == {
        "build": ("unsafe", str(tmp_path)),
        "synapse_version": ("unsafe", "1.120.0"),
    }


def test_host_vars_go_to_one_private_file_per_host(tmp_path: Path) -> None:
    encoded = encode_host_vars({"lab1": {"wmx_plan": [None, {"role": "base"}]}})
    directory = write_host_vars(tmp_path / "run", encoded)
    assert mode(directory) == 0o700 and mode(directory / "lab1.yml") == 0o600
    assert load_unsafe_yaml((directory / "lab1.yml").read_text()) == {
        "wmx_plan": [None, {("unsafe", "role"): ("unsafe", "base")}]
    }


@pytest.mark.parametrize("host", ["../x", "/tmp/x", "a/b", ".", "..", "x.", ""])
def test_host_vars_refuse_a_host_name_that_is_not_a_plain_file_name(host: str) -> None:
    with pytest.raises(TypeError, match="host name"):
        encode_host_vars({host: {}})


def test_extravars_refuse_values_ansible_cannot_take(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="set"):
        encode_extravars({"hosts": {"a", "b"}})


def test_command_record_keeps_only_wmx_settings(tmp_path: Path) -> None:
    record = tmp_path / "command"
    record.write_text(
        json.dumps(
            {
                "command": ["ansible-playbook", "site.yml"],
                "cwd": "/site/playbooks",
                "env": {"GITHUB_TOKEN": "ghp_secret", "ANSIBLE_NOCOLOR": "True"},
            }
        )
    )
    record.chmod(0o600)

    trim_command_record(tmp_path, {"ANSIBLE_NOCOLOR": "True"})

    trimmed = json.loads(record.read_text())
    assert trimmed["command"] == ["ansible-playbook", "site.yml"]
    assert trimmed["env"] == {"ANSIBLE_NOCOLOR": "True"}
    assert "ghp_secret" not in record.read_text()
    assert mode(record) == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["command"]


def test_missing_command_record_is_not_an_error(tmp_path: Path) -> None:
    trim_command_record(tmp_path, {})
    assert list(tmp_path.iterdir()) == []


def test_transcript_is_owner_only(tmp_path: Path) -> None:
    path = write_transcript(tmp_path, ["\nPLAY [x] ***", "", "ok: [hs1]"])
    assert path.read_text() == "\nPLAY [x] ***\nok: [hs1]\n"
    assert mode(path) == 0o600
