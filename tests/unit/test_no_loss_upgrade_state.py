"""`wmx upgrade`'s records (.wmx/upgrades/last.json and one per run, canary.json) are
written whole or not at all: a write that fails, or a run killed mid-write, leaves the
previous record that `wmx upgrade rollback` and `wmx status` read."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from wmx.errors import WriteRefused
from wmx.ops.upgrade_record import UpgradeRecord, last_record
from wmx.site import Site


def _record(status: str) -> UpgradeRecord:
    return UpgradeRecord(
        kind="apply",
        component="synapse",
        from_version="1.1",
        to_version="1.2",
        started="2026-11-30T20:00:00Z",
        database_rule="none",
        status=status,
    )


def test_a_failed_write_leaves_the_last_record_whole(
    one_host: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record("applied").save(one_host)
    state = one_host.paths.state
    assert last_record(state) is not None

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteRefused, match="No space left on device"):
        _record("running").save(one_host)
    record = last_record(state)
    assert record is not None and record["status"] == "applied"
    folder: Path = state / "upgrades"
    assert all(json.loads(p.read_text()) for p in folder.glob("*.json"))
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
