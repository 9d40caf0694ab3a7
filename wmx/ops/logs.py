"""`wmx logs`: which host runs a service, and the journalctl command, over SSH, that
prints its journal there."""

from __future__ import annotations

import subprocess
import sys

from wmx.errors import InputError
from wmx.site import Site
from wmx.site.given import given
from wmx.site.topology import HostView
from wmx.ssh import connection
from wmx.ssh.unreachable import SSH_FAILED, unreachable
from wmx.status.services import Service, known_service_names, services_of

# The newest entries printed when neither --lines nor --since is given.
DEFAULT_LINES = 100


def find_service(site: Site, name: str, host_name: str | None) -> tuple[HostView, Service]:
    """The host (the one given, else the only one running it) and the service."""
    name = name.removesuffix(".service")
    hosts = [h for h in site.topology.hosts if host_name in (None, h.name)]
    if host_name and not hosts:
        known = ", ".join(h.name for h in site.topology.hosts)
        raise InputError(f"--host {given(host_name)}: no such host in the inventory ({known})")
    matches = [
        (h, s)
        for h in hosts
        for s in services_of(site, h)
        if name in (s.name, s.unit.removesuffix(".service"), s.unit.removesuffix(".timer"))
    ]
    if not matches:
        raise InputError(_no_such_service(site, name, host_name))
    if len(matches) > 1:
        names = ", ".join(h.name for h, _ in matches)
        raise InputError(f"{name} runs on several hosts ({names}): choose one with --host")
    return matches[0]


def _no_such_service(site: Site, name: str, host_name: str | None) -> str:
    """Why `name` has no journal to show here, and the services this site (or the host
    given) does run: wmx's whole list named services a site without workers or
    monitoring has not got."""
    hosts = [h for h in site.topology.hosts if host_name in (None, h.name)]
    here = sorted({s.name for h in hosts for s in services_of(site, h)})
    where = f" on {host_name}" if host_name else ""
    listing = f"services{where or ' of this site'}: {', '.join(here) or 'none'}"
    elsewhere = sorted(
        h.name
        for h in site.topology.hosts
        if h not in hosts and any(s.name == name for s in services_of(site, h))
    )
    if elsewhere:
        return f"{name} does not run on {host_name} but on {', '.join(elsewhere)}; {listing}"
    if name in known_service_names():
        return f"{name} does not run{where} on this site (its component is off); {listing}"
    return f"no service {given(name)}{where}; {listing}"


def journal_argv(
    host: HostView, service: Service, since: str | None, follow: bool, lines: int | None
) -> list[str]:
    command = ["journalctl", "--no-pager", "--output=short-iso", "--unit", service.unit]
    if service.unit.endswith(".timer"):
        # A timer's journal only says when it fired; what the job did (a backup's or a
        # certificate renewal's errors) is in the journal of the service it starts.
        command += ["--unit", service.unit.removesuffix(".timer") + ".service"]
    # --lines with --since: the newest N of those since then (journalctl's own reading),
    # not ignored; neither: the newest DEFAULT_LINES.
    command += ["--since", since] if since else []
    if lines is not None or not since:
        command += ["--lines", str(lines or DEFAULT_LINES)]
    if follow:
        command.append("--follow")
    # The journal of a system service needs root (sudo for a non-root user with become).
    return connection(host).command(command)


def print_journal(
    host: HostView, service: Service, since: str | None, follow: bool, lines: int | None
) -> int:
    """Print the journal on this terminal; the exit status of journalctl (0 on Ctrl-C).

    journalctl's (and sudo's) messages on stderr come after the journal; when ssh itself
    fails (status 255) they are its reason, said in one line with the host and address
    (a WmxError, exit status 1) instead of ssh's raw text and its 255."""
    argv = journal_argv(host, service, since, follow, lines)
    try:
        # errors="replace": a byte that is not UTF-8 in a host's message is no traceback.
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            check=False,
        )
    except KeyboardInterrupt:  # --follow ends with Ctrl-C: that is how it is meant to end
        return 0
    if done.returncode == SSH_FAILED:
        raise unreachable(host, done.stderr)
    sys.stderr.write(done.stderr)
    return done.returncode
