"""`wmx bench` against the deployed lab site, through nginx and TLS as users reach it:
figures printed, every message timed, the run's accounts removed (budget: under a
minute on top of the shared site)."""

from __future__ import annotations

import json

from tests.e2e.conftest import TRANSCRIPT, Deployed, wmx


def test_bench_through_the_public_client_api(deployed: Deployed) -> None:
    site = deployed.site.paths.root
    result = wmx(
        "bench", "-u", "8", "-r", "2", "--rate", "10", "-d", "6", "--ca-file", deployed.trust,
        "-o", "json", site=site,
    )  # fmt: skip
    figures = json.loads(result.stdout)
    print(json.dumps(figures, indent=2))  # the figures, in the test log
    assert figures["client_url"] == deployed.homeserver_url
    assert figures["sent"] == figures["messages"] == 60
    assert figures["received"] == 60 and figures["lost"] == 0
    assert figures["send_errors"] == {}
    latency = figures["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    # Nothing of the run is left: its accounts are deactivated, its rooms gone.
    run = figures["run_id"]
    users = json.loads(
        wmx("user", "list", "--deactivated", "--name", f"wmx-bench-{run}-", "-o", "json",
            site=site).stdout
    )  # fmt: skip
    assert len(users) == 8 and all(u["deactivated"] for u in users)
    rooms = json.loads(wmx("room", "list", "--search", f"wmx bench {run}", "-o", "json",
                           site=site).stdout)  # fmt: skip
    assert rooms == []
    assert "access_token" not in TRANSCRIPT[-1]
