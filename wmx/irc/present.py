"""How `wmx irc` shows the bridge to people: what wmx.yaml gives it, its health against
wmx.yaml, a sync's changes and the outcome of each plumbed channel. Scripts get the same
data as JSON or YAML (each command's answer is a `Report`: the data for scripts, a
presenter for people, the exit status). Names from IRC or Matrix are shown as text, never
markup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from wmx.present import Report, cell, columns, console, esc, exit_if

if TYPE_CHECKING:
    from wmx.irc.manage import PlumbResult

# `wmx irc networks`: one row per network of wmx.yaml.
NETWORK_COLUMNS = columns("network:name, servers, SASL:sasl", servers=", ".join)


def show_summary(data: Mapping[str, Any]) -> None:
    """Under the networks' table: the relay's nick and realname, the owner, who may use it."""
    console.print(f"Relay nick: {esc(data['relay_nick'])}; realname: {esc(repr(data['realname']))}")
    masks = ", ".join(f"{m} ({level})" for m, level in data["allowed"].items())
    console.print(f"Owner: {esc(data['owner'])}; allowed: {esc(masks)}")


def show_health(data: Mapping[str, Any]) -> None:
    """Up or down, then a row per network (in the bridge, connections, relay, plumbed
    channels), then what differs from wmx.yaml and the command that fixes it."""
    state = "[green]up[/]" if data["up"] else "[red]down[/]"
    console.print(f"Bridge {esc(data['bot'])}: {state} ({esc(data['ping'])})")
    table = Table(
        "network", "servers", "in bridge", "connections", "relay", "plumbed",
        show_edge=False, header_style="bold",
    )  # fmt: skip
    for net in data["networks"]:
        bridge = "yes" if net["matches"] else ("differs" if net["in_bridge"] else "no")
        relay = f"{net['relay']['nick']} ({'on' if net['relay']['connected'] else 'off'})"
        plumbed = ", ".join(p["channel"] for p in net["plumbed"]) or "-"
        table.add_row(
            *map(cell, (net["name"], ", ".join(net["servers"]), bridge)),
            *map(cell, (net["connections"], relay, plumbed)),
        )
    console.print(table)
    if data["not_in_wmx_yaml"]:
        extra = esc(", ".join(data["not_in_wmx_yaml"]))
        console.print(
            f"[yellow]The bridge also has {extra}, which wmx.yaml does not list: "
            "`wmx irc sync` removes them.[/]"
        )
    if any(not n["matches"] for n in data["networks"]):
        console.print("[yellow]The bridge differs from wmx.yaml: run `wmx irc sync`.[/]")


def show_changes(changes: Sequence[str]) -> None:
    """What a sync changed in the running bridge (or that nothing needed to)."""
    if not changes:
        console.print("The bridge already matches wmx.yaml.")
    for change in changes:
        console.print(f"  {esc(change)}")


def show_plumbs(results: Sequence[PlumbResult]) -> None:
    """A row per channel: its network, the outcome (red when it failed) and the room."""
    table = Table("channel", "network", "result", "room", show_edge=False, header_style="bold")
    for r in results:
        colour = "red" if not r.ok else "green" if r.outcome in ("plumbed", "unplumbed") else ""
        outcome = Text(r.outcome, style=colour)
        if r.detail:
            outcome.append(f": {r.detail}")
        table.add_row(cell(r.channel), cell(r.network), outcome, cell(r.room_id))
    console.print(table)


def health_report(data: Mapping[str, Any]) -> Report:
    """`wmx irc status`: exit status 1 when the bridge is down."""
    return Report(data, lambda: show_health(data), exit_if(not data["up"]))


def sync_report(changes: Sequence[str]) -> Report:
    """`wmx irc sync`."""
    return Report({"changes": changes}, lambda: show_changes(changes))


def plumb_report(results: Sequence[PlumbResult]) -> Report:
    """`wmx irc plumb|unplumb|plumb-file`: exit status 1 when a channel failed."""
    failed = any(not r.ok for r in results)
    return Report([r.as_dict() for r in results], lambda: show_plumbs(results), exit_if(failed))
