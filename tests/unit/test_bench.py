"""`wmx bench`'s plan, figures and refusals (the run itself: tests/integration/test_bench.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import answers
from wmx.bench.spec import (
    BenchResult,
    BenchSpec,
    check_client_url,
    check_test_deployment,
    percentile,
)
from wmx.cli import app
from wmx.errors import InputError
from wmx.site.init import init_site


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"users": 1}, "--users 1"),
        ({"users": 4, "rooms": 3}, "--rooms 3"),
        ({"rooms": 0}, "--rooms 0"),
        ({"rate": 0}, "--rate 0"),
        ({"rate": float("nan")}, "--rate nan"),
        ({"duration": -1}, "--duration -1"),
        ({"settle": 0}, "--settle 0"),
    ],
)
def test_spec_refuses_what_cannot_run(kwargs: dict[str, float], named: str) -> None:
    with pytest.raises(InputError, match=named):
        BenchSpec(**kwargs)  # type: ignore[arg-type]


def test_spec_spreads_users_over_rooms_and_counts_messages() -> None:
    spec = BenchSpec(users=5, rooms=2, rate=2.5, duration=4)
    assert spec.messages == 10
    assert [spec.room_of(u) for u in range(5)] == [0, 1, 0, 1, 0]
    assert BenchSpec(rate=0.01, duration=1).messages == 1


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_result_figures() -> None:
    result = BenchResult(BenchSpec(users=2, rooms=1, rate=4, duration=1), "a.test", "u")
    result.sent = 4
    result.latencies = [0.1, 0.2, 0.3]
    result.send_errors["429"] += 1
    result.elapsed = 1.5
    figures = result.as_dict()
    assert figures["lost"] == 1 and result.errors == 2
    assert figures["throughput_per_s"] == 2.0
    assert figures["latency_ms"] == {"p50": 200.0, "p95": 300.0, "p99": 300.0, "max": 300.0}
    empty = BenchResult(BenchSpec(), "a.test", "u").as_dict()
    assert empty["latency_ms"]["p50"] is None and empty["throughput_per_s"] == 0.0


@pytest.mark.parametrize("name", ["example.test", "wiki.example", "x.localhost", "a.invalid"])
def test_test_names_pass(name: str) -> None:
    check_test_deployment(name, not_a_test=False)


def test_other_names_need_not_a_test() -> None:
    with pytest.raises(InputError, match=r"wikimedia\.org is not a test deployment"):
        check_test_deployment("wikimedia.org", not_a_test=False)
    check_test_deployment("wikimedia.org", not_a_test=True)


@pytest.mark.parametrize(
    "url", ["https://matrix.example.org", "http://127.0.0.1:8008", "http://10.0.0.5:8008/"]
)
def test_client_urls_accepted(url: str) -> None:
    assert check_client_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://matrix.example.org", "in clear"),
        ("http://8.8.8.8:8008", "in clear"),
        ("ftp://x.test", "a base URL"),
        ("https://user@x.test", "a base URL"),
        ("matrix.example.org", "a base URL"),
    ],
)
def test_client_urls_refused(url: str, says: str) -> None:
    with pytest.raises(InputError, match=says):
        check_client_url(url)


def test_cli_refuses_a_production_name_before_reaching_anything(tmp_path: Path) -> None:
    site = init_site(tmp_path / "site", answers("wikimedia.org")).root
    # --url points nowhere: the refusal must come first, as one line, exit 2.
    result = CliRunner().invoke(app, ["--site", str(site), "bench", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 2, result.output
    assert "wikimedia.org is not a test deployment" in result.stderr
    assert "--not-a-test" in result.stderr and "Traceback" not in result.output


def test_cli_refuses_direct_with_client_url(tmp_path: Path) -> None:
    site = init_site(tmp_path / "site", answers("example.test")).root
    result = CliRunner().invoke(
        app,
        ["--site", str(site), "bench", "--direct", "--client-url", "https://m.example.test"],
    )
    assert result.exit_code == 2
    assert "--direct and --client-url" in result.stderr
