"""How `wmx bench` shows a run to people: a progress bar while it sends, then the figures
(load, throughput, latency percentiles, errors). Scripts get `BenchResult.as_dict()`."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wmx.bench.spec import BenchResult
from wmx.present import cell, console


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
