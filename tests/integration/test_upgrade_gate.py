"""The upgrade's health gate against a real Synapse (the release wmx pins): the canary is
made as `wmx upgrade apply` makes it (the Admin API sets its password, the one in
secrets.yml; its room is created once), and the gate passes — health, the client API,
the release read from the `Server` header Synapse sets (this Synapse has no federation
listener), the canary's message read back through /sync. Expecting another release
fails the version check by name; a wrong canary password fails the canary check."""

from __future__ import annotations

import json
import secrets
from contextlib import nullcontext

import pytest

from tests.integration.conftest import AdminLab
from wmx.admin.client import SynapseAdmin
from wmx.ops import upgrade
from wmx.ops.upgrade import _create_canary_room
from wmx.ops.upgrade_gate import CANARY_LOCALPART, Canary, GateTarget, run_gate
from wmx.site.releases import DEFAULT_SYNAPSE_VERSION


def _canary(admin_lab: AdminLab, admin_api: SynapseAdmin) -> Canary:
    password = secrets.token_urlsafe(24)
    user_id = f"@{CANARY_LOCALPART}:{admin_lab.site.config.server_name}"
    admin_api.users.put(user_id, {"password": password, "logout_devices": True})
    room = _create_canary_room(admin_lab.url, password)
    return Canary(CANARY_LOCALPART, password, room)


def test_the_gate_passes_on_a_healthy_synapse_and_names_what_fails(
    admin_lab: AdminLab, admin_api: SynapseAdmin
) -> None:
    canary = _canary(admin_lab, admin_api)
    target = GateTarget(admin_lab.url, DEFAULT_SYNAPSE_VERSION, False, canary)
    verdict = run_gate(target, 30)
    assert verdict.ok, verdict.summary()
    assert [p.name for p in verdict.probes] == ["health", "client", "version", "canary"]
    assert verdict.ready_s is not None

    older = run_gate(GateTarget(admin_lab.url, "1.160.0", False, canary), 30)
    assert older.failed == ("version",)
    assert f"reports {DEFAULT_SYNAPSE_VERSION} (expected 1.160.0)" in older.summary()

    wrong = Canary(canary.user, "not-the-password", canary.room_id)
    refused = run_gate(GateTarget(admin_lab.url, DEFAULT_SYNAPSE_VERSION, False, wrong), 30)
    assert refused.failed == ("canary",) and "login refused" in refused.summary()


def test_the_canary_is_made_once_and_remade_for_another_database(
    admin_lab: AdminLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # wmx reaches this Synapse directly instead of through an SSH tunnel.
    monkeypatch.setattr(upgrade, "reach_synapse", lambda site: nullcontext(admin_lab.url))
    first = upgrade.ready_canary(admin_lab.site)
    again = upgrade.ready_canary(admin_lab.site)
    # The password is the generated one in secrets.yml, set on the account each time.
    assert again.room_id == first.room_id
    assert again.password == first.password == admin_lab.site.secrets.upgrade_canary_password
    target = GateTarget(admin_lab.url, DEFAULT_SYNAPSE_VERSION, False, again)
    assert run_gate(target, 30).ok
    # canary.json from a database that is gone (the site deployed afresh): a new room.
    room_file = admin_lab.site.paths.state / "upgrades" / "canary.json"
    room_file.write_text(json.dumps({"room_id": "!gone:wmx.test"}))
    renewed = upgrade.ready_canary(admin_lab.site)
    assert renewed.room_id not in (None, "!gone:wmx.test", first.room_id)
    target = GateTarget(admin_lab.url, DEFAULT_SYNAPSE_VERSION, False, renewed)
    assert run_gate(target, 30).ok
