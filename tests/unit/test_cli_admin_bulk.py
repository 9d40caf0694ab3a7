"""The choices behind `wmx user deactivate --regex` and `wmx user devices
--prune-older-than` (wmx.admin.bulk), which the CLI only confirms and shows."""

from __future__ import annotations

import multiprocessing
from types import SimpleNamespace

import pytest

from wmx.admin.bulk import deactivation_targets, matches, matching, stale_devices
from wmx.admin.types import Device
from wmx.errors import InputError

DAY_MS = 86_400_000
NOW = 1_700_000_000.0


def test_a_pattern_matches_the_whole_id_or_the_whole_localpart() -> None:
    assert matches(r"spam\d+", "@spam12:example.test")
    assert matches(r"@spam\d+:example\.test", "@spam12:example.test")
    assert not matches(r"spam", "@spam12:example.test")  # whole names only
    assert not matches(r"\d+", "@spam12:example.test")


def test_stale_devices_are_those_not_seen_for_the_days_given() -> None:
    seen = [
        Device(device_id="OLD", last_seen_ts=int(NOW * 1000) - 40 * DAY_MS),
        Device(device_id="NEW", last_seen_ts=int(NOW * 1000) - 2 * DAY_MS),
        Device(device_id="NEVER", last_seen_ts=None),
    ]
    names = [d["device_id"] for d in stale_devices(seen, 30, never_seen=False, now=NOW)]
    assert names == ["OLD"]
    names = [d["device_id"] for d in stale_devices(seen, 30, never_seen=True, now=NOW)]
    assert names == ["OLD", "NEVER"]


def test_a_pattern_that_backtracks_without_end_is_refused_not_waited_for() -> None:
    """`(a+)+` against 34 a's and a `-` (a name anyone with a token may pick) ran for
    minutes; the match runs in a child process that is stopped after its time."""
    names = ["@" + "a" * 34 + "-:example.test", "@spam1:example.test"]
    with pytest.raises(InputError, match=r"did not finish matching 2 account\(s\) in 1 s"):
        matching("(a+)+", names, seconds=1)
    assert multiprocessing.active_children() == []  # the child was killed and reaped
    assert matching(r"spam\d+", names) == ["@spam1:example.test"]


def test_deactivation_never_takes_admins_wmx_or_the_bridge() -> None:
    listing = [
        {"name": "@spam1:example.test"},
        {"name": "@boss:example.test", "admin": True},
        {"name": "@wmx-admin:example.test"},
        {"name": "@heisenbridge:example.test"},
    ]
    admin = SimpleNamespace(
        users=SimpleNamespace(listing=lambda guests: SimpleNamespace(items=listing))
    )
    bridge = {"@heisenbridge:example.test"}.__contains__
    found = deactivation_targets(admin, ".*", "@wmx-admin:example.test", bridge)  # type: ignore[arg-type]
    assert found == ["@spam1:example.test"]
