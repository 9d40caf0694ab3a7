"""`wmx irc`: the IRC bridge: its networks, its state, and channels plumbed into rooms."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from wmx.cli.admin_support import Cmd, command, room_arg
from wmx.cli.common import checked, console, group
from wmx.present import cell, columns, esc

if TYPE_CHECKING:
    from wmx.irc.manage import PlumbResult

app = group("irc")

Channel = Annotated[str, typer.Argument(help="IRC channel, such as '#wikimedia-de' (quote it).")]
Network = Annotated[
    str | None,
    typer.Option("--network", "-n", help="Network name from wmx.yaml [default: the first]."),
]


@command(app, url=False)
def networks(cmd: Cmd) -> None:
    """The networks wmx.yaml gives the bridge, and who may use it (no host is contacted)."""
    from wmx.irc.names import bridge_summary

    data = bridge_summary(cmd.site)
    shown = columns("network:name, servers, SASL:sasl", servers=", ".join)
    cmd.rows(data["networks"], shown, data=data, empty="irc_bridge.networks lists no network")
    if cmd.table:
        console.print(
            f"Relay nick: {esc(data['relay_nick'])}; realname: {esc(repr(data['realname']))}"
        )
        masks = ", ".join(f"{m} ({level})" for m, level in data["allowed"].items())
        console.print(f"Owner: {esc(data['owner'])}; allowed: {esc(masks)}")


@command(app)
def status(cmd: Cmd) -> None:
    """Whether the bridge is up (Synapse pings it), its networks, connections and plumbs."""
    from wmx.irc.health import bridge_health
    from wmx.irc.manage import bridge_session

    with bridge_session(cmd.site, cmd.url) as manager:
        data = bridge_health(manager)
    up = bool(data["up"])
    if not cmd.table:
        cmd.data(data)
        if not up:
            raise typer.Exit(1)
        return
    state = "[green]up[/]" if up else "[red]down[/]"
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
    if not up:
        raise typer.Exit(1)


@command(app)
def sync(cmd: Cmd) -> None:
    """Make the running bridge match irc_bridge in wmx.yaml (networks, who may use it,
    relay settings). `wmx deploy` does this too."""
    from wmx.irc.manage import bridge_session, bridge_view

    bridge_view(cmd.site)
    with bridge_session(cmd.site, cmd.url) as manager:
        report = manager.sync()
    if not cmd.table:
        cmd.data({"changes": report.changes})
        return
    if not report.changes:
        console.print("The bridge already matches wmx.yaml.")
    for change in report.changes:
        console.print(f"  {esc(change)}")


def _show(cmd: Cmd, results: list[PlumbResult]) -> None:
    if not cmd.table:
        cmd.data([r.as_dict() for r in results])
    else:
        table = Table("channel", "network", "result", "room", show_edge=False, header_style="bold")
        for r in results:
            colour = "red" if not r.ok else "green" if r.outcome in ("plumbed", "unplumbed") else ""
            outcome = Text(r.outcome, style=colour)
            if r.detail:
                outcome.append(f": {r.detail}")
            table.add_row(cell(r.channel), cell(r.network), outcome, cell(r.room_id))
        console.print(table)
    if any(not r.ok for r in results):
        raise typer.Exit(1)


@command(app)
def plumb(
    cmd: Cmd,
    channel: Channel,
    room: Annotated[
        str | None,
        typer.Argument(
            help="Matrix room id or alias to bridge it into [default: a new public room "
            "#<network>_<channel>:<server> named after the channel].",
            show_default=False,
        ),
    ] = None,
    network: Network = None,
) -> None:
    """Bridge an IRC channel into a Matrix room in relay mode: one IRC connection speaks
    for the room's Matrix users, IRC users appear in the room as Matrix users.

    Ask the channel's operators first: Libera.Chat's policy wants their consent.
    """
    from wmx.irc.manage import bridge_session, bridge_view, check_channel, check_network

    bridge_view(cmd.site)
    name = checked(check_channel, channel)
    target = room_arg(room.strip()) if room else None
    net = check_network(cmd.site, network)
    with bridge_session(cmd.site, cmd.url) as manager:
        manager.sync()
        result = manager.plumb(name, target, net)
    _show(cmd, [result])


@command(app)
def unplumb(cmd: Cmd, channel: Channel, network: Network = None) -> None:
    """Stop bridging an IRC channel: the bridge leaves its room and the channel."""
    from wmx.irc.manage import bridge_session, bridge_view, check_channel, check_network

    bridge_view(cmd.site)
    name = checked(check_channel, channel)
    net = check_network(cmd.site, network)
    with bridge_session(cmd.site, cmd.url) as manager:
        result = manager.unplumb(name, net)
    _show(cmd, [result])


@command(app, "plumb-file")
def plumb_file(
    cmd: Cmd,
    path: Annotated[
        Path,
        typer.Argument(help="YAML list of channels (see docs/irc.md).", dir_okay=False),
    ],
) -> None:
    """Plumb every channel of a file (idempotent: plumbed ones are left as they are);
    reports per channel. The whole file is checked before anything changes."""
    from wmx.irc.channels import parse_channel_file
    from wmx.irc.manage import bridge_session, bridge_view

    bridge_view(cmd.site)
    entries = parse_channel_file(path, cmd.site)
    with bridge_session(cmd.site, cmd.url) as manager:
        manager.sync()
        results = manager.plumb_each(entries)
    _show(cmd, results)
