"""`wmx status` for the operator of a deployed site, with host answers recorded on a lab
site while things were broken by hand: each problem is one line naming what to do, a
crash loop or a nearly full disk is not "healthy", the names `wmx logs` takes are never
cut short, a monitoring failure says which service did not answer, and a command's
error is its error line, not the hint under it."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from rich.console import Console

from wmx.site.topology import HostView
from wmx.status.collect import (
    DiskStatus,
    HostStatus,
    ServiceStatus,
    SiteStatus,
    _asking,
    _Unanswered,
)
from wmx.status.present import render_status
from wmx.status.probe import stderr_cause

# psql's answer on the lab host with postgresql@17-main stopped (`systemctl stop`).
PSQL_DOWN = (
    'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" '
    "failed: No such file or directory\n"
    "\tIs the server running locally and accepting connections on that socket?\n"
)


def service(name: str, unit: str, state: str = "active", sub: str = "running") -> ServiceStatus:
    return ServiceStatus(name, unit, state, sub, "1.0", 60 if state == "active" else None)


def host(*services: ServiceStatus, used: float = 0.5, name: str = "lab1") -> HostStatus:
    size = 100 * 2**30
    return HostStatus(
        name,
        "10.213.0.11",
        ["base", "synapse"],
        reachable=True,
        uptime_seconds=3600,
        services=list(services),
        disks=[DiskStatus("/", size, int(size * used), used)],
        memory_available_ratio=0.9,
    )


def site(*hosts: HostStatus, **extra: object) -> SiteStatus:
    now = time.time()
    status = SiteStatus("wmx.test", now, list(hosts), monitoring=False)
    status.cert_expires_at = now + 90 * 86400
    for key, value in extra.items():
        setattr(status, key, value)
    return status


def screen(status: SiteStatus, width: int = 80) -> str:
    console = Console(record=True, width=width)
    console.print(render_status(status))
    return console.export_text()


def test_a_healthy_site_has_no_problem_lines() -> None:
    status = site(host(service("synapse", "matrix-synapse.service")))
    assert status.healthy and status.problems == []
    assert status.to_dict()["problems"] == []


def test_a_stopped_service_is_one_line_naming_its_logs_and_the_deploy() -> None:
    pg = service("postgresql", "postgresql@17-main.service", "inactive", "dead")
    status = site(host(service("synapse", "matrix-synapse.service"), pg))
    assert status.problems == [
        "postgresql (postgresql@17-main.service) on lab1 is inactive (dead): `wmx deploy` "
        "starts it; `wmx logs postgresql` says why it stopped"
    ]
    text = screen(status)
    assert text.index("`wmx logs postgresql`") < text.index("╭")  # above the panels
    assert json.loads(json.dumps(status.to_dict()))["problems"] == status.problems


def test_a_crash_loop_needs_attention_and_names_the_full_deploy() -> None:
    # Synapse with a broken homeserver.yaml: systemd restarts it every few seconds.
    looping = service("synapse", "matrix-synapse.service", "activating", "auto-restart")
    status = site(host(looping))
    assert not status.healthy
    (line,) = status.problems
    assert "keeps crashing" in line and "`wmx logs synapse`" in line
    assert "`wmx deploy` puts back the configuration" in line


def test_a_nearly_full_disk_is_not_healthy() -> None:
    status = site(host(service("synapse", "matrix-synapse.service"), used=0.95))
    assert not status.hosts[0].healthy and not status.healthy
    (line,) = status.problems
    assert line.startswith("disk / on lab1 is 95% full (5.0 GiB free)")
    assert "`wmx media delete --before 90d`" in line


def test_with_several_hosts_the_logs_command_names_the_host() -> None:
    down = service("node-exporter", "prometheus-node-exporter.service", "failed", "failed")
    status = site(host(down, name="db1"), host(service("nginx", "nginx.service"), name="web1"))
    (line,) = status.problems
    assert "`wmx logs node-exporter --host db1`" in line and "has failed" in line


def test_service_names_are_never_cut_short_on_a_narrow_terminal() -> None:
    status = site(
        host(
            service("postgres-exporter", "prometheus-postgres-exporter.service"),
            service("blackbox-exporter", "prometheus-blackbox-exporter.service"),
        )
    )
    text = screen(status, width=80)
    assert "postgres-exporter " in text and "blackbox-exporter " in text


def test_a_monitoring_service_that_does_not_answer_is_named() -> None:
    lab1 = HostView("lab1", "10.213.0.11", ("monitoring",))

    def disconnected() -> None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    with pytest.raises(_Unanswered) as caught:
        _asking("Prometheus", "prometheus", lab1, disconnected)
    assert str(caught.value) == (
        "Prometheus on lab1 did not answer (Server disconnected without sending a response.): "
        "`wmx logs prometheus` says why; `wmx deploy` starts it"
    )
    status = site(host(service("synapse", "matrix-synapse.service")), monitoring=True)
    status.monitoring_error = str(caught.value)
    assert not status.healthy and status.problems == [str(caught.value)]


def test_the_cause_of_a_failed_command_is_its_error_line_not_the_hint() -> None:
    assert stderr_cause(PSQL_DOWN, "x").startswith("psql: error: connection to server")
    assert stderr_cause("Traceback (most recent call last):\n  File x\nValueError: y\n", "x") == (
        "ValueError: y"
    )
    assert stderr_cause("", "no answer") == "no answer"
    assert stderr_cause("\tonly indented\n", "x") == "only indented"


def test_an_unreachable_host_is_one_line_not_one_per_thing_living_there() -> None:
    from wmx.status.collect import NOT_ASKED

    down = HostStatus(
        "lab1", "10.213.0.11", ["synapse"], reachable=False, error="lab1 (10.213.0.11) "
        "cannot be reached over SSH: connect to host 10.213.0.11 port 22: Connection refused"
    )  # fmt: skip
    status = site(down, monitoring=True)
    status.monitoring_error = f"{NOT_ASKED}lab1 cannot be reached over SSH"
    status.federation_error = f"{NOT_ASKED}lab1 cannot be reached over SSH"
    assert status.problems == [down.error] and not status.healthy


def test_a_stopped_alertmanager_is_one_line_not_two() -> None:
    """Recorded on the lab with prometheus-alertmanager stopped: its service's line and
    "Alertmanager on lab1 did not answer" said the same thing twice."""
    stopped = service("alertmanager", "prometheus-alertmanager.service", "inactive", "dead")
    status = site(host(stopped), monitoring=True)
    status.monitoring_error = (
        "Alertmanager on lab1 did not answer ([Errno 104] Connection reset by peer): "
        "`wmx logs alertmanager` says why; `wmx deploy` starts it"
    )
    (line,) = status.problems
    assert line.startswith("alertmanager (prometheus-alertmanager.service) on lab1 is inactive")
    running = site(host(service("alertmanager", "prometheus-alertmanager.service")))
    running.monitoring_error = status.monitoring_error
    assert running.problems == [status.monitoring_error]  # running, yet not answering
