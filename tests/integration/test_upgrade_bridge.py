"""The IRC bridge's upgrade gate against a real Synapse and Heisenbridge on loopback
(tests/integration/irc_rig.py): it passes once Synapse's ping of the bridge is answered,
and with the bridge stopped it fails within its time limit naming Synapse's answer; a
unit that is not active fails by its state without asking Synapse."""

from __future__ import annotations

from tests.integration.irc_rig import IrcRig
from wmx.components.irc_bridge import APPSERVICE_ID
from wmx.irc.health import ping
from wmx.ops.upgrade_parts import poll_bridge


def _ping(irc_rig: IrcRig) -> tuple[bool, str]:
    return ping(irc_rig.url, irc_rig.site.secrets.irc_bridge_as_token, APPSERVICE_ID)


def test_the_gate_passes_on_an_answering_bridge_and_fails_on_a_stopped_one(irc_rig: IrcRig) -> None:
    passed, detail = poll_bridge(lambda: "active", lambda: _ping(irc_rig), 60)
    assert passed, detail
    assert detail.startswith("the bridge answers Synapse's ping (answered in ")

    irc_rig.bridge.terminate()
    irc_rig.bridge.wait(timeout=30)
    try:
        failed, why = poll_bridge(lambda: "active", lambda: _ping(irc_rig), 5)
        assert not failed
        assert why.startswith("irc_bridge: Synapse's ping of the bridge: ")
    finally:
        irc_rig.restart_bridge()
    again, detail = poll_bridge(lambda: "active", lambda: _ping(irc_rig), 60)
    assert again, detail


def test_a_unit_that_is_not_active_fails_by_its_state() -> None:
    asked: list[int] = []

    def never() -> tuple[bool, str]:
        asked.append(1)
        return True, "answered"

    failed, why = poll_bridge(lambda: "failed", never, 0, sleep=lambda _s: None)
    assert (failed, why, asked) == (False, "irc_bridge: heisenbridge.service is failed", [])
