"""How `wmx bench` shows a run to people: a progress bar while it sends, then the figures
(load, throughput, latency percentiles, errors). Scripts get `BenchResult.as_dict()`.
`wmx bench`'s whole run is `bench_command`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wmx.bench.spec import BenchResult, BenchSpec, check_client_url, check_test_deployment
from wmx.errors import InputError
from wmx.present import OutputFormat, Report, cell, console, err_console, trust

if TYPE_CHECKING:
    from wmx.site import Site


def progress_bar(on: Console) -> Progress:
    """Messages sent and errors against the total, and how many arrived (transient)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("received {task.fields[received]} errors {task.fields[errors]}"),
        TimeElapsedColumn(),
        console=on,
        transient=True,
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def show_result(result: BenchResult) -> None:
    """The run's figures, a line each."""
    figures = result.as_dict()
    latency = figures["latency_ms"]
    spec = result.spec
    table = Table(show_header=False, box=None, pad_edge=False)
    # The URL is the operator's and the error names are the server's (a response's
    # message): text, never markup (a stray "[/]" would make Rich raise).
    table.add_row("server", cell(f"{result.server_name} via {result.client_url}"))
    table.add_row(
        "load",
        f"{spec.users} users in {spec.rooms} rooms, {spec.rate:g} msg/s "
        f"for {spec.duration:g} s ({spec.messages} messages)",
    )
    table.add_row("sent", f"{result.sent}")
    table.add_row("received", f"{result.received} (lost {result.lost})")
    table.add_row("throughput", f"{figures['throughput_per_s']} msg/s delivered")
    table.add_row(
        "latency", " ".join(f"{q} {_ms(latency[q])}" for q in ("p50", "p95", "p99", "max"))
    )
    errors = {**result.send_errors, **{f"sync {k}": v for k, v in result.sync_errors.items()}}
    table.add_row("errors", cell(", ".join(f"{k}: {v}" for k, v in errors.items()) or "none"))
    console.print(table)


def bench_command(
    site: Site,
    spec: BenchSpec,
    url: str | None,
    client_url: str | None,
    direct: bool,
    ca_file: Path | None,
    not_a_test: bool,
    output: OutputFormat,
) -> None:
    """`wmx bench`: refuse a server that is not a test one (unless `not_a_test`), run the
    load with a progress bar on stderr, warn of what was not removed, show the result."""
    from wmx.admin.account import admin_session
    from wmx.bench.run import run_bench

    server_name = site.config.server_name
    check_test_deployment(server_name, not_a_test=not_a_test)
    if direct and client_url:
        raise InputError("--direct and --client-url: give one of them")
    target = check_client_url(client_url) if client_url else None
    tls = trust(ca_file) if ca_file else None
    with admin_session(site, url) as admin, progress_bar(err_console) as bar:
        task = bar.add_task("starting", total=spec.messages, received=0, errors=0)
        client = (
            admin.http.base_url if direct else target or f"https://{site.config.homeserver.host}"
        )
        outcome = run_bench(
            admin,
            spec,
            server_name=server_name,
            client_url=client,
            tls=tls,
            stage=lambda what: bar.update(task, description=what),
            report=lambda p: bar.update(
                task, completed=p.sent + p.errors, received=p.received, errors=p.errors
            ),
        )
    for line in outcome.left_behind:
        err_console.print(f"warning: not removed: {line}", soft_wrap=True, markup=False)
    data = {**outcome.result.as_dict(), "run_id": outcome.run_id}
    Report(data, lambda: show_result(outcome.result)).show(output)
