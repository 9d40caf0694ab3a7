"""`wmx logs SERVICE`: a service's journal on the host that runs it, over SSH."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.common import open_site
from wmx.errors import InputError

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.topology import HostView
    from wmx.status.services import Service


def find_service(site: Site, name: str, host_name: str | None) -> tuple[HostView, Service]:
    """The host (the one given, else the only one running it) and the service."""
    from wmx.status.services import known_service_names, services_of

    name = name.removesuffix(".service")
    hosts = [h for h in site.topology.hosts if host_name in (None, h.name)]
    if host_name and not hosts:
        known = ", ".join(h.name for h in site.topology.hosts)
        raise InputError(f"--host {host_name}: no such host in the inventory ({known})")
    matches = [
        (h, s)
        for h in hosts
        for s in services_of(site, h)
        if name in (s.name, s.unit.removesuffix(".service"))
    ]
    if not matches:
        where = f" on {host_name}" if host_name else ""
        raise InputError(
            f"no service {name!r}{where}; known services: {', '.join(known_service_names())}"
        )
    if len(matches) > 1:
        names = ", ".join(h.name for h, _ in matches)
        raise InputError(f"{name} runs on several hosts ({names}): choose one with --host")
    return matches[0]


def journal_argv(
    host: HostView, service: Service, since: str | None, follow: bool, lines: int
) -> list[str]:
    from wmx.ssh import connection

    command = ["journalctl", "--no-pager", "--output=short-iso", "--unit", service.unit]
    command += ["--since", since] if since else ["--lines", str(lines)]
    if follow:
        command.append("--follow")
    # The journal of a system service needs root (sudo for a non-root user with become).
    return connection(host).command(command)


def logs(
    ctx: typer.Context,
    service: Annotated[
        str,
        typer.Argument(
            help="Service as `wmx status` names it (synapse, postgresql, nginx, …), or its "
            "unit name."
        ),
    ],
    host: Annotated[
        str | None, typer.Option("--host", "-H", help="Host (default: the one running it).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="From this time on, as journalctl reads it: '1 hour ago', 'today'."),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new entries until Ctrl-C.")
    ] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, help="Without --since.")] = 100,
) -> None:
    """Print a service's journal from the host that runs it (over SSH)."""
    site = open_site(ctx)
    target, unit = find_service(site, service, host)
    argv = journal_argv(target, unit, since, follow, lines)
    try:
        code = subprocess.run(argv, stdin=subprocess.DEVNULL, check=False).returncode
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)
