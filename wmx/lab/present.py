"""How `wmx lab` shows the lab to people (tables of hosts and snapshots, how to reach the
hosts) and to scripts (`-o json`), with the steps of each `wmx lab` command around it
(root checked first, progress on one status line)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from wmx.present import answer, cell, console, esc

if TYPE_CHECKING:
    from wmx.lab.addressing import LabHost
    from wmx.lab.lab import Lab
    from wmx.lab.snapshots import Snapshot


def hosts_table(hosts: Sequence[LabHost]) -> Table:
    table = Table("host", "address", "name", "state")
    for host in hosts:
        state = "[green]running[/]" if host.running else "[red]stopped[/]"
        table.add_row(cell(host.name), cell(host.address), cell(host.fqdn), state)
    return table


def show_started(lab: Lab, started: Sequence[LabHost], site_dir: Path | None) -> None:
    """After `wmx lab up`: the hosts, how to log in, the ACME directory and trust bundle,
    and the site that now deploys to them."""
    console.print(hosts_table(started))
    console.print(
        f"ssh: [bold]wmx lab shell {esc(started[0].name)}[/] (key: {esc(lab.ssh_key_path)})"
    )
    console.print(
        f"ACME directory: {esc(lab.acme_directory)}; clients trust {esc(lab.trust_bundle_path)}"
    )
    if site_dir is not None:
        console.print(f"Site [bold]{esc(site_dir)}[/] now deploys to the lab: run `wmx deploy`.")


def lab_state(lab: Lab, hosts: Sequence[LabHost]) -> dict[str, Any]:
    """`wmx lab status -o json`: the hosts, the names they answer to, and what to trust."""
    return {
        "hosts": [
            {"name": h.name, "address": h.address, "fqdn": h.fqdn, "running": h.running}
            for h in hosts
        ],
        "names": lab.names(),
        "acme_directory": lab.acme_directory,
        "trust_bundle": str(lab.trust_bundle_path),
        "ssh_key": str(lab.ssh_key_path),
    }


def show_state(lab: Lab, hosts: Sequence[LabHost]) -> None:
    """`wmx lab status`: the hosts' table and each name the lab resolves, or how to start."""
    if not hosts:
        console.print("No lab hosts. Start some with `wmx lab up`.")
        return
    console.print(hosts_table(hosts))
    for name, host in sorted(lab.names().items()):
        console.print(f"{esc(name)} → {esc(host)}")


def snapshot_list(found: Sequence[Snapshot]) -> list[dict[str, Any]]:
    return [{"name": s.name, "hosts": list(s.hosts), "created_at": s.created_at} for s in found]


def show_snapshots(found: Sequence[Snapshot]) -> None:
    if not found:
        console.print("No snapshots. Take one with `wmx lab snapshot HOST --name NAME`.")
        return
    table = Table("snapshot", "hosts", "taken")
    for item in found:
        table.add_row(cell(item.name), cell(" ".join(item.hosts)), cell(item.created_at))
    console.print(table)


def root_lab() -> Lab:
    """The lab, once this process is known to run as root (else a LabError)."""
    from wmx.lab import Lab

    Lab.require_root()
    return Lab()


@contextmanager
def busy(what: str) -> Iterator[tuple[Lab, Callable[[str], None]]]:
    """The lab (root checked first) whose progress shows on one status line, `what` at
    first; yields the lab and the line's updater."""
    from wmx.lab import Lab

    Lab.require_root()
    status = console.status(what)
    with status:
        yield Lab(progress=lambda text: status.update(text)), status.update


def status_command(output: str) -> None:
    """`wmx lab status`."""
    lab = root_lab()
    hosts = lab.hosts()
    answer(output, lambda: lab_state(lab, hosts), lambda: show_state(lab, hosts))


def shell(name: str) -> None:
    """`wmx lab shell`: this process becomes ssh to the host (the shell owns the terminal,
    and its exit status is wmx's)."""
    from wmx.lab import LabError

    lab = root_lab()
    host = lab.host(name)
    if not host.running:
        raise LabError(f"{name} is not running; start it with `wmx lab up`")
    argv = lab.ssh_argv(host, tty=True)
    os.execvp(argv[0], argv)


def down(purge: bool) -> None:
    """`wmx lab down`."""
    with busy("Stopping the lab") as (lab, _):
        lab.down(purge=purge)
    console.print("The lab is down." + (" Caches, key and CA purged." if purge else ""))


def snapshot(name: str, hosts: list[str]) -> None:
    """`wmx lab snapshot`."""
    with busy("Taking a snapshot") as (lab, _):
        taken = lab.snapshot(name, hosts)
    console.print(
        f"Snapshot [bold]{esc(taken.name)}[/] of {esc(', '.join(taken.hosts))}: "
        f"{esc(taken.directory)}"
    )


def snapshots_command(delete: str | None, output: str) -> None:
    """`wmx lab snapshots`: the list, or the one `delete` names deleted."""
    from wmx.lab import LabError

    lab = root_lab()
    if delete is None:
        found = lab.snapshots()
        answer(output, lambda: snapshot_list(found), lambda: show_snapshots(found))
    elif lab.delete_snapshot(delete):
        console.print(f"Deleted snapshot {esc(delete)}.")
    else:
        raise LabError(f"no snapshot {delete!r}")
