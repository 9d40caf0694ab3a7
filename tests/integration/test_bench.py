"""`wmx bench` against a real Synapse: figures that add up, and nothing left behind."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import AdminLab
from wmx.admin.client import SynapseAdmin

pytestmark = pytest.mark.integration

NOWHERE = "http://127.0.0.1:9"
# Seconds the bench waits for messages still on their way after the last send (default
# 15): on a loaded machine a late one would count as lost, and the bench stops waiting as
# soon as all have arrived.
SETTLE = "60"


def _run_accounts(admin: SynapseAdmin, run_id: str) -> list[dict[str, object]]:
    found = admin.users.listing(name=f"wmx-bench-{run_id}-", deactivated=True).items
    return [dict(u) for u in found]


def test_bench_times_every_message_and_removes_its_accounts(
    admin_lab: AdminLab, admin_api: SynapseAdmin
) -> None:
    result = admin_lab.wmx(
        "bench", "-u", "6", "-r", "2", "--rate", "20", "-d", "3", "--settle", SETTLE,
        "--client-url", admin_lab.url, "-o", "json",
    )  # fmt: skip
    figures = json.loads(result.stdout)
    assert figures["messages"] == 60
    assert figures["sent"] == 60 and figures["received"] == 60 and figures["lost"] == 0
    assert figures["send_errors"] == {} and figures["sync_errors"] == {}
    latency = figures["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert figures["throughput_per_s"] > 0
    accounts = _run_accounts(admin_api, figures["run_id"])
    assert len(accounts) == 6
    assert all(a["deactivated"] for a in accounts)
    for account in accounts:
        assert admin_api.users.joined_rooms(str(account["name"])) == []
    rooms = admin_api.rooms.listing(search=f"wmx bench {figures['run_id']}").items
    assert rooms == []


def test_bench_table_through_the_admin_url(admin_lab: AdminLab) -> None:
    result = admin_lab.wmx(
        "bench", "-u", "2", "-r", "1", "--rate", "10", "-d", "1", "--settle", SETTLE, "--direct"
    )
    text = result.stdout
    print(text)  # the figures, in the test log
    assert "received 10 (lost 0)" in " ".join(text.split())
    assert "p95" in text and "errors" in text


def test_bench_refuses_a_client_url_that_is_not_the_sites_server(
    admin_lab: AdminLab, admin_api: SynapseAdmin
) -> None:
    result = admin_lab.wmx(
        "bench", "-u", "2", "-r", "1", "-d", "1", "--client-url", NOWHERE, "-o", "json",
        expect=1,
    )  # fmt: skip
    assert f"cannot reach {NOWHERE}" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    # Its accounts were made, then deactivated.
    mine = [
        u for u in admin_api.users.listing(name="wmx-bench-", deactivated=True).items
        if not u["deactivated"]
    ]  # fmt: skip
    assert mine == []
