"""The upgrade gate's monitoring check against a real Prometheus on loopback: it scrapes a
real HTTP target labelled as wmx labels Synapse (job="master"), every second. The check
passes once Prometheus scraped the target after the check began and found it up; with the
target stopped, the next scrape finds it down and the check fails saying so; a job that
Prometheus does not scrape fails by name."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.integration.processes import wait_serving
from tests.integration.synapse_server import free_port, log_tail
from wmx.ops.upgrade_gate import GateTarget, monitoring_probe


class Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1\n"
        self.send_response(200 if self.path == "/_synapse/metrics" else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def target_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def prometheus(tmp_path: Path, target_server: ThreadingHTTPServer) -> Iterator[str]:
    require_tool("prometheus")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: synapse\n"
        "    metrics_path: /_synapse/metrics\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{target_server.server_address[1]}']\n"
        "        labels: {job: master, index: '1'}\n"
    )
    # Its output to a file: a Prometheus that exits or never gets ready says why.
    log = tmp_path / "prometheus.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200

    try:
        wait_serving(process, ready, "Prometheus to be ready", lambda: log_tail(log))
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _target(url: str, job: str = "master") -> GateTarget:
    return GateTarget("http://unused", "0", False, None, prometheus=url, synapse_job=job)


def test_the_check_passes_on_a_scrape_after_it_began_and_fails_when_the_target_is_down(
    prometheus: str, target_server: ThreadingHTTPServer
) -> None:
    probe = monitoring_probe(_target(prometheus), time.monotonic() + 30)
    assert probe.ok, probe.detail
    assert probe.detail == "Prometheus scraped the Synapse target: up"

    target_server.shutdown()
    target_server.server_close()
    down = monitoring_probe(_target(prometheus), time.monotonic() + 10)
    assert not down.ok and down.detail == "Prometheus scraped the Synapse target: down"


def test_a_job_prometheus_does_not_scrape_fails_by_name(prometheus: str) -> None:
    probe = monitoring_probe(_target(prometheus, job="nope"), time.monotonic() + 3)
    assert not probe.ok and probe.detail == 'Prometheus has no up{job="nope"}'


def test_no_prometheus_fails_the_check() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    probe = monitoring_probe(_target(url), time.monotonic() + 2)
    assert not probe.ok and probe.detail == "Prometheus: ConnectError"
