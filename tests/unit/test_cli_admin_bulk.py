"""The choices behind `wmx user deactivate --regex` and `wmx user devices
--prune-older-than` (wmx.admin.bulk), which the CLI only confirms and shows."""

from __future__ import annotations

from wmx.admin.bulk import matches, stale_devices
from wmx.admin.types import Device

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
