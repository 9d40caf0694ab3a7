"""`wmx irc`: the IRC bridge: its networks, its state, and channels plumbed into rooms."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wmx.cli.admin_support import Cmd, command
from wmx.cli.common import group

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
    from wmx.irc.present import NETWORK_COLUMNS, show_summary

    data = bridge_summary(cmd.site)
    cmd.rows(
        data["networks"], NETWORK_COLUMNS, data=data, empty="irc_bridge.networks lists no network"
    )
    if cmd.table:
        show_summary(data)


@command(app)
def status(cmd: Cmd) -> None:
    """Whether the bridge is up (Synapse pings it), its networks, connections and plumbs."""
    from wmx.irc import plumbing
    from wmx.irc.present import health_report

    health_report(plumbing.health(cmd.site, cmd.url)).show(cmd.output)


@command(app)
def sync(cmd: Cmd) -> None:
    """Make the running bridge match irc_bridge in wmx.yaml (networks, who may use it,
    relay settings). `wmx deploy` does this too."""
    from wmx.irc import plumbing
    from wmx.irc.present import sync_report

    sync_report(plumbing.sync(cmd.site, cmd.url)).show(cmd.output)


@command(app)
def plumb(
    cmd: Cmd,
    channel: Channel,
    room: Annotated[
        str | None,
        typer.Argument(
            help="Matrix room id or alias to bridge it into [default: a new public room "
            "#NETWORK_CHANNEL:SERVER named after the channel].",
            show_default=False,
        ),
    ] = None,
    network: Network = None,
) -> None:
    """Bridge an IRC channel into a Matrix room in relay mode: one IRC connection speaks
    for the room's Matrix users, IRC users appear in the room as Matrix users.

    Ask the channel's operators first: Libera.Chat's policy wants their consent.
    """
    from wmx.irc import plumbing
    from wmx.irc.present import plumb_report

    plumb_report(plumbing.plumb(cmd.site, cmd.url, channel, room, network)).show(cmd.output)


@command(app)
def unplumb(cmd: Cmd, channel: Channel, network: Network = None) -> None:
    """Stop bridging an IRC channel: the bridge leaves its room and the channel."""
    from wmx.irc import plumbing
    from wmx.irc.present import plumb_report

    plumb_report(plumbing.unplumb(cmd.site, cmd.url, channel, network)).show(cmd.output)


@command(app, "plumb-file")
def plumb_file(
    cmd: Cmd,
    path: Annotated[
        Path,
        typer.Argument(
            help="YAML: `channels:` (with an optional default `network:`) or a bare list.",
            dir_okay=False,
        ),
    ],
) -> None:
    """Plumb every channel of a file (idempotent: plumbed ones are left as they are);
    reports per channel. The whole file is checked before anything changes.

    An entry is a channel name, or its channel, room and network; for example
    (docs/irc.md):

        network: libera                 # optional: else the first network
        channels:
          - "#wikimedia-de"             # a new room #libera_wikimedia-de:SERVER
          - channel: "#wikipedia-de-tech"
            room: "#technik:example.org"   # an existing room
    """
    from wmx.irc import plumbing
    from wmx.irc.present import plumb_report

    plumb_report(plumbing.plumb_file(cmd.site, cmd.url, path)).show(cmd.output)
