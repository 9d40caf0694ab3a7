"""The status screen (Rich): one panel per host, then monitoring, alerts and Synapse;
`wmx status`'s whole run is `status_command`."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.markup import escape as esc
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from wmx.present import answer, console, known
from wmx.status.collect import SiteStatus, crashing

if TYPE_CHECKING:
    from wmx.site import Site

_STATE_STYLE = {"active": "green", "failed": "bold red", "not-installed": "yellow"}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds % 60}s" if minutes else f"{seconds}s"


def _size(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _figure(value: float | None, unit: str = "") -> str:
    if value is None:
        return "no data"
    return f"{value:.3g}{unit}" if unit else f"{value:.0f}"


def _ago(status: SiteStatus, moment: float | None) -> str:
    return "never" if moment is None else f"{duration(status.collected_at - moment)} ago"


def _federation(status: SiteStatus) -> RenderableType | None:
    """Per remote server: last successful outgoing and incoming transaction."""
    if status.federation_error:
        return Panel(Text(status.federation_error, style="red"), title="federation")
    if not status.federation:
        return None
    table = Table("remote server", "last sent", "last received (24 h)", "sending", box=None)
    for remote in status.federation:
        sending = (
            Text("ok", style="green")
            if remote.sending
            else Text(f"failing since {_ago(status, remote.failing_since)}", style="red")
        )
        table.add_row(
            Text(remote.server),
            _ago(status, remote.last_sent_at),
            _ago(status, remote.last_received_at),
            sending,
        )
    return Panel(table, title="federation")


def render_status(status: SiteStatus) -> RenderableType:
    parts: list[RenderableType] = []
    for host in status.hosts:
        title = (
            f"[bold]{esc(host.name)}[/] ({esc(host.address)}) · {esc(', '.join(host.components))}"
        )
        if not host.reachable:
            parts.append(Panel(Text(host.error, style="red"), title=title, border_style="red"))
            continue
        table = Table(box=None)
        # The service's name is what `wmx logs` takes: never cut short, however narrow.
        table.add_column("service", no_wrap=True, overflow="fold")
        for heading in ("unit", "state", "version", "up for"):
            table.add_column(heading)
        for s in host.services:
            style = "bold red" if crashing(s) else _STATE_STYLE.get(s.state, "yellow")
            state = f"{s.state} ({s.sub_state})" if s.sub_state else s.state
            table.add_row(
                Text(s.name),
                Text(s.unit),
                Text(state, style=style),
                Text(s.version or "-"),
                duration(s.uptime_seconds),
            )
        facts = [f"host up {duration(host.uptime_seconds)}"]
        for disk in host.disks:
            ratio = disk.used_ratio
            colour = "red" if ratio > 0.9 else "yellow" if ratio > 0.8 else "green"
            facts.append(
                f"disk {esc(disk.path)} [{colour}]{ratio:.0%}[/] of {_size(disk.size_bytes)}"
            )
        if host.memory_available_ratio is not None:
            facts.append(f"memory available {host.memory_available_ratio:.0%}")
        border = "green" if host.healthy else "red"
        parts.append(
            Panel(
                Group(table, Text.from_markup(" · ".join(facts))), title=title, border_style=border
            )
        )

    summary = Table.grid(padding=(0, 2))
    days = status.cert_days_left
    if days is None:
        summary.add_row("certificate", "[yellow]unknown[/]")
    else:
        colour = "red" if days < 14 else "green"
        expires = dt.datetime.fromtimestamp(status.cert_expires_at or 0, dt.UTC)
        summary.add_row(
            "certificate", f"[{colour}]expires in {days:.0f} days[/] ({expires:%Y-%m-%d})"
        )
    if status.last_backup_at is None:
        summary.add_row("last backup", "[yellow]never[/]")
    else:
        summary.add_row(
            "last backup", f"{duration(status.collected_at - status.last_backup_at)} ago"
        )
    if status.backup_failed_on:
        summary.add_row(
            "backup",
            f"[red]last run failed on {esc(', '.join(status.backup_failed_on))}[/] "
            "(`wmx backup list` says why)",
        )
    if not status.monitoring:
        summary.add_row("monitoring", "[yellow]off (no host in the monitoring group)[/]")
    elif status.monitoring_error:
        summary.add_row("monitoring", Text(status.monitoring_error, style="red"))
    else:
        down = [t for t in status.targets if not t.up]
        summary.add_row(
            "scrape targets",
            f"{len(status.targets) - len(down)}/{len(status.targets)} up"
            + (
                ": [red]" + esc(", ".join(f"{t.job}@{t.instance}" for t in down)) + "[/]"
                if down
                else ""
            ),
        )
        synapse = status.synapse
        summary.add_row("daily active users", _figure(synapse.get("daily_active_users")))
        summary.add_row("event send p99", _figure(synapse.get("event_send_p99_seconds"), " s"))
        summary.add_row(
            "federation send lag", _figure(synapse.get("federation_send_lag_seconds"), " s")
        )
        summary.add_row(
            "federation inbound staging",
            _figure(synapse.get("federation_inbound_staging_age_seconds"), " s"),
        )
    parts.append(Panel(summary, title="site"))
    federation = _federation(status)
    if federation is not None:
        parts.append(federation)

    if status.monitoring and not status.monitoring_error:
        if status.alerts:
            alerts = Table("alert", "severity", "instance", "summary", "since", box=None)
            for a in status.alerts:
                colour = "red" if a.severity == "critical" else "yellow"
                alerts.add_row(
                    Text(a.name),
                    Text(a.severity, style=colour),
                    Text(a.instance),
                    Text(a.summary),
                    Text(a.since[:19]),
                )
            parts.append(Panel(alerts, title="[red]firing alerts[/]", border_style="red"))
        else:
            parts.append(Text.from_markup("[green]No alert is firing.[/]"))
    verdict = "[green]healthy[/]" if status.healthy else "[red]needs attention[/]"
    header = Text.from_markup(f"[bold]{esc(status.server_name)}[/]: {verdict}")
    # What to do comes first: on a short terminal (`--watch`) the end of the screen is cut.
    todo = [Text.assemble(("• ", "red"), line) for line in status.problems]
    return Group(header, *todo, *parts)


def show_last_upgrade(record: Mapping[str, Any] | None) -> None:
    """Under the status: one line on the last `wmx upgrade` run, when there was one."""
    if record:
        finished = record.get("finished")
        when = f" at {esc(finished)}" if finished is not None else " (not finished)"
        console.print(
            f"last upgrade: {esc(known(record.get('component'), 'a part'))} "
            f"{esc(known(record.get('from_version'), 'none before'))} → "
            f"{esc(known(record.get('to_version'), 'unknown'))} "
            f"{esc(known(record.get('status'), 'unknown'))}{when}"
        )


def watch_status(collect: Callable[[], SiteStatus], interval: float) -> None:
    """`wmx status --watch`: the status screen, collected again every `interval` seconds
    and redrawn in place, until Ctrl-C."""
    from rich.live import Live

    with console.status("Collecting the site's status"):
        first = collect()
    with Live(render_status(first), console=console, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(render_status(collect()), refresh=True)
        except KeyboardInterrupt:
            pass


def status_command(
    site: Site,
    output: str,
    watch: bool,
    interval: int,
    last_upgrade: Callable[[], Mapping[str, Any] | None],
) -> None:
    """`wmx status`: the screen (refreshed in place with `watch`) or JSON, with the last
    upgrade's record; exit status 1 unless every host is healthy."""
    from wmx.status import collect_status

    if watch:  # never with json (wmx.cli.observe refuses the two together)
        watch_status(lambda: collect_status(site), interval)
        return
    result = collect_status(site)

    def show() -> None:
        console.print(render_status(result))
        show_last_upgrade(last_upgrade())

    answer(
        output, lambda: {**result.to_dict(), "last_upgrade": last_upgrade()}, show, result.healthy
    )
