"""The preflight of a proxy host's first deploy: what the certificate authority will need.

Before nginx asks the CA for the site's certificate for the first time, every name it
covers must resolve to the proxy host (and only to it), and ports 80 and 443 of the host
must be reachable from outside. A first order that fails on either wastes one of the CA's
rate-limited attempts (Let's Encrypt: 5 failed validations per name an hour) and leaves
the operator with an Ansible error instead of the cause. The checks run from the
operator's machine, as the CA's validator would reach the host:

- each name resolves, and only to the host's addresses (`wmx dns` lists them);
- TCP 80 and 443 of each of those addresses answer: a connection, or a refusal (nothing
  listens yet on a fresh host: the packet got there). A timeout or "unreachable" means a
  firewall (the provider's security group, say) drops it.

A host counts as deployed once a deploy that converged it succeeded (.wmx/deployed/HOST);
the preflight is for hosts that are not, and only when the run converges nginx on them.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wmx.components.nginx import public_names
from wmx.doctor import dns as lookup
from wmx.errors import WmxError
from wmx.ops.dns import host_addresses
from wmx.site import Site
from wmx.site.topology import HostView

PORTS = (80, 443)
CONNECT_TIMEOUT = 5.0  # seconds; the CA's validator waits about as long
_REFUSED = {errno.ECONNREFUSED, errno.ECONNRESET}

Resolve = Callable[[str], list[str]]
Probe = Callable[[str, int, float], str | None]


class PreflightError(WmxError):
    """The first certificate order of a proxy host could not succeed now."""


@dataclass(frozen=True)
class Problem:
    host: str
    what: str  # a name, or address:port
    detail: str

    def __str__(self) -> str:
        return f"{self.what} {self.detail}"


def probe_port(address: str, port: int, timeout: float) -> str | None:
    """None when address:port reaches a machine (it connects, or is refused), else why not."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
        except TimeoutError:
            return f"gives no answer within {timeout:g} s (a firewall drops it?)"
        except OSError as error:
            if error.errno in _REFUSED:
                return None
            return f"cannot be reached ({error.strerror or error})"
    return None


def check_proxy(
    site: Site,
    host: HostView,
    *,
    resolve: Resolve = lookup.addresses,
    probe: Probe = probe_port,
    timeout: float = CONNECT_TIMEOUT,
) -> list[Problem]:
    """Everything that would make the first ACME order of proxy ``host`` fail."""
    v4, v6 = host_addresses(host)
    wanted = set(v4) | set(v6)
    problems = []
    for name in public_names(site):
        found = resolve(name)
        if not found:
            problems.append(Problem(host.name, name, "does not resolve"))
            continue
        elsewhere = [a for a in found if a not in wanted]
        if elsewhere:
            hint = (
                " (if that is the host's own IPv6 address, give it as public_ipv6 in the inventory)"
                if not v6 and any(":" in a for a in elsewhere)
                else ""
            )
            problems.append(
                Problem(
                    host.name,
                    name,
                    f"resolves to {', '.join(elsewhere)}, not to {host.name} "
                    f"({', '.join(sorted(wanted))}){hint}",
                )
            )
    for address in [*v4, *v6]:
        for port in PORTS:
            why = probe(address, port, timeout)
            if why is not None:
                shown = f"[{address}]" if ":" in address else address
                problems.append(Problem(host.name, f"port {port} of {shown}", why))
    return problems


def first_deploy_proxies(site: Site, hosts: Sequence[str]) -> list[HostView]:
    """The proxy hosts among ``hosts`` (those this run converges nginx on) that no
    successful deploy has reached yet."""
    return [
        h
        for h in site.topology.in_group("proxy")
        if h.name in hosts and not (site.paths.deployed / h.name).is_dir()
    ]


def preflight(
    site: Site,
    hosts: Sequence[str],
    *,
    resolve: Resolve = lookup.addresses,
    probe: Probe = probe_port,
    timeout: float = CONNECT_TIMEOUT,
) -> None:
    """Raise PreflightError naming every problem of the first deploy of a proxy host."""
    problems: list[Problem] = []
    for host in first_deploy_proxies(site, hosts):
        problems += check_proxy(site, host, resolve=resolve, probe=probe, timeout=timeout)
    if problems:
        listed = "; ".join(str(p) for p in problems)
        raise PreflightError(
            f"preflight of the first deploy of {problems[0].host}: {listed}. No certificate "
            "was requested (a failed order counts against the CA's rate limits): fix the "
            "DNS records (`wmx dns --check`) and the firewall, then run `wmx deploy` again"
        )
