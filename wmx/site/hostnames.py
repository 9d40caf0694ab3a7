"""Inventory host names and addresses: checked before they become paths or config text.

A host name becomes a directory (`build/<host>/`, `.wmx/deployed/<host>/`) and an
address lands in nftables rules, pg_hba.conf, nginx and Prometheus. Both are held to a
grammar: RFC 1123 host names (letters, digits and hyphens in dot-separated labels) and
IP addresses as the `ipaddress` module reads them. Nothing else gets through, so `../x`,
`/tmp/x` or `10.0.0.1 tcp dport 22 drop ;` never reach a file.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from wmx.errors import InputError
from wmx.site.inventory_lines import entry_line, variable_line
from wmx.site.ssh_options import (
    KEY_VARIABLES,
    PASSWORD_VARIABLES,
    REFUSED_VARIABLES,
    SSH_ARG_VARIABLES,
    connection_problem,
    is_password_variable,
    unchecked_here,
)
from wmx.site.topology import GROUPS, Topology

# One RFC 1123 label: starts and ends with a letter or digit, hyphens inside, ≤ 63.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
MAX_HOST_NAME = 253
# A login name as ssh's user: POSIX portable characters, never a leading `-` (ssh would
# read `-oProxyCommand=…@host` as an option) and no `@`, white space or quotes.
_LOGIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
# The spellings of ansible_become that wmx's own SSH (wmx.ssh) and Ansible read alike.
# What inet_aton's forms are written with: numbers (decimal, octal, 0x hex) and dots.
_INET_ATON_CHARACTERS = re.compile(r"[0-9A-Fa-fXx.]+")
_BOOLEAN_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}


def check_host_name(value: object) -> str:
    """An inventory host name: RFC 1123 labels separated by dots (`matrix`, `db1.example.org`).

    Never `..`, `/`, a leading `-` or dot, white space or control characters: it becomes
    a path under build/.
    """
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a host name (it must be text)")
    if len(value) > MAX_HOST_NAME or not _HOST_NAME.fullmatch(value):
        raise ValueError(
            f"{value[:80]!r} is not a host name (letters, digits and hyphens in labels "
            "separated by dots, such as matrix or db1.example.org)"
        )
    return value


def check_address(value: object) -> str:
    """Where Ansible connects and what firewalls and configs name: an IPv4 or IPv6
    address (without zone), or a DNS host name. IP addresses come back normalised.

    Never an address no ssh reaches a host at: unspecified (`0.0.0.0` and `::` are this
    machine to ssh), multicast, broadcast or reserved, or IPv4 written as IPv6
    (`::ffff:10.0.0.1`: nftables' `ip6 saddr` would never match it). A loopback address
    is the caller's to judge (check_inventory_hosts: a forward's port makes it another
    machine)."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an address (an IP address or a host name)")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            raise ValueError(f"{value!r}: an IPv6 zone (%…) is not supported; drop it")
        problem = _unreachable(address)
        if problem is not None:
            raise ValueError(f"{value!r} is {problem}")
        return str(address)
    hint = _shape_hint(value)
    if hint is not None:
        raise ValueError(f"{value[:80]!r} {hint}")
    if _legacy_ipv4(value):
        raise ValueError(
            f"{value[:80]!r} reads as an IPv4 address in an old spelling (`0` is 0.0.0.0, "
            "`127.1` is 127.0.0.1): write the address as four numbers with dots, such as "
            "203.0.113.10"
        )
    if len(value) <= MAX_HOST_NAME and _HOST_NAME.fullmatch(value):
        return value
    raise ValueError(
        f"{value[:80]!r} is not an address (an IPv4 or IPv6 address, such as 203.0.113.10, "
        "or a host name, such as matrix.example.org)"
    )


def _unreachable(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ssh reaches no host of the site at `address` (None: it may; loopback aside)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"an IPv4 address written as IPv6: write {address.ipv4_mapped}"
    if address.is_unspecified:
        return "the unspecified address, which ssh reaches as this machine"
    if address.is_multicast or (isinstance(address, ipaddress.IPv4Address) and address.is_reserved):
        return "a multicast, broadcast or reserved address, where no host is reached"
    return None


def _shape_hint(value: str) -> str | None:
    """What a value that is not an address holds instead, when it is one of the usual
    things written there: a login, a URL, a port or a prefix (each said apart, never as
    an old spelling of an IPv4 address, which `root@10.0.0.1` had been called)."""
    if "://" in value:
        return "is a URL: an address is the host alone (its port is ansible_port)"
    if "@" in value:
        return "holds a login (`user@`): an address is the host alone (the login is ansible_user)"
    if re.fullmatch(r"[^:/\s]+:[0-9]+", value):
        return "holds a port (`:PORT`): an address is the host alone (the port is ansible_port)"
    if re.fullmatch(r"[^/\s]+/[0-9]+", value):
        return "is a network (`/PREFIX`): an address is one host's"
    return None


def _legacy_ipv4(value: str) -> bool:
    """A name that ssh and the C library read as an IPv4 address which `ipaddress` does
    not (`0`, `127.1`, `2130706433`, `0x7f.1`, `1.2.3`): inet_aton's old forms, and any
    name whose last label is all digits, which no DNS name has (RFC 1123, 2.1). A dotted
    quad is an address, not one of these (a host named `10.0.0.5`, with no ansible_host).
    Only a name of a host name's characters is one: `x@10.0.0.1` is not an address at all."""
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        pass
    else:
        return False
    if not _HOST_NAME.fullmatch(value.rstrip(".")):
        return False
    if value.rstrip(".").rsplit(".", 1)[-1].isdigit():
        return True
    if not _INET_ATON_CHARACTERS.fullmatch(value):
        return False  # inet_aton also reads `10.0.0.1 anything` (up to white space)
    try:
        socket.inet_aton(value)
    except (OSError, ValueError):
        return False
    return True


def _is_loopback(address: str) -> bool:
    """Whether ssh reaches `address` (checked: an IP address normalised, or a host name)
    on this machine: a loopback address, or `localhost` and the names under it (RFC 6761)."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        name = address.lower().rstrip(".")
        return name == "localhost" or name.endswith(".localhost")


def _forwarded(values: Mapping[str, Any]) -> bool:
    """Whether the host's ssh port is one other than 22 (ansible_port, ansible_ssh_port):
    on a loopback address, a forward to another machine (Vagrant's 127.0.0.1:2222)."""
    ports = [values.get(k) for k in ("ansible_port", "ansible_ssh_port")]
    given = [p for p in ports if p not in (None, "")]
    numbers = [int(p) for p in given if isinstance(p, int | str) and str(p).isdigit()]
    return bool(numbers) and len(numbers) == len(given) and 22 not in numbers


_HERE = (
    "is this machine (loopback): wmx deploys to other machines (as `ansible_connection: "
    "local`, refused); a forward to another machine names its port (ansible_port, not 22)"
)


def check_inventory_hosts(
    path: Path, hosts: Iterable[tuple[str, Mapping[str, Any]]]
) -> dict[str, str]:
    """Refuse the first bad host name or address: `inventory.yml:LINE: HOST: cause`.

    `hosts` are (name, variables) pairs. Returns each host's ansible_host as
    check_address gives it back (an IP address normalised), by host name. Also refused:
    two names that differ only in case (one directory of build/ on macOS's file system,
    and one DNS name), and an address ssh reaches on this machine (above)."""
    addresses: dict[str, str] = {}
    folded: dict[str, str] = {}
    for name, values in hosts:
        try:
            check_host_name(name)
        except ValueError as exc:
            where = entry_line(path, name, "hosts")
            raise InputError(f"{where}: host {exc}; it names a directory under build/") from None
        other = folded.setdefault(name.lower(), name)
        if other != name:
            raise InputError(
                f"{entry_line(path, name, 'hosts')}: host {name!r} differs from host "
                f"{other!r} only in case: one directory under build/ on a file system that "
                "ignores case (macOS's), and one name in DNS; rename one"
            )
        address = values.get("ansible_host")
        if address is None:
            _check_named_address(path, name)
        else:
            try:
                addresses[name] = check_address(address)
            except ValueError as exc:
                where = variable_line(path, name, None, "ansible_host", _same(address))
                raise InputError(f"{where}: {name}.ansible_host: {exc}") from None
        _check_not_here(path, name, values, addresses.get(name))
    return addresses


def _check_named_address(path: Path, name: str) -> None:
    """A host with no ansible_host, which ssh reaches by its name."""
    where = entry_line(path, name, "hosts")
    if _legacy_ipv4(name):  # ssh connects to the name: `0` would be this machine
        raise InputError(
            f"{where}: host {name!r} reads as an IPv4 address in an old spelling; "
            "give it an ansible_host written as four numbers with dots"
        )
    try:
        problem = _unreachable(ipaddress.ip_address(name))
    except ValueError:
        problem = None
    if problem is not None:
        raise InputError(f"{where}: host {name!r} is {problem}; give it an ansible_host")


def _check_not_here(path: Path, name: str, values: Mapping[str, Any], address: str | None) -> None:
    """Refuse a host that ssh reaches on this machine: its ansible_host (`address`, as
    checked), its ansible_ssh_host, or with neither its name, a loopback address or
    `localhost`; unless its port is a forward's (_forwarded)."""
    if _forwarded(values):
        return
    ssh_host = values.get("ansible_ssh_host")
    for key, given in (("ansible_host", address), ("ansible_ssh_host", ssh_host)):
        if isinstance(given, str) and _is_loopback(given):
            where = variable_line(path, name, None, key, _same(values.get(key)))
            raise InputError(f"{where}: {name}.{key}: {given[:80]!r} {_HERE}")
    if address is None and ssh_host in (None, "") and _is_loopback(name):
        where = entry_line(path, name, "hosts")
        raise InputError(f"{where}: host {name!r} {_HERE}; or give it an ansible_host")


def check_groups(path: Path, topology: Topology) -> None:
    """Refuse a group wmx does not know (a typo such as `monitorng` would switch its
    component off without a word), and a host that exists only by a misspelling: no
    variables, and a name close to a host with an address (`matrx` beside `matrix`)."""
    for host in topology.hosts:
        for group in host.groups:
            if group not in GROUPS:
                close = difflib.get_close_matches(group, GROUPS, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(GROUPS)}"
                where = entry_line(path, group, "children")
                raise InputError(
                    f"{where}: unknown group {group[:64]!r} ({hint}); groups name the "
                    "components a host runs"
                )
    # Hosts written out with an address; a bare name close to one of them is a typo.
    defined = [h.name for h in topology.hosts if "ansible_host" in h.vars]
    for host in topology.hosts:
        if host.vars:
            continue
        others = [n for n in defined if n != host.name]
        close = difflib.get_close_matches(host.name, others, n=1, cutoff=0.75)
        if close:
            where = entry_line(path, host.name, "hosts")
            raise InputError(
                f"{where}: host {host.name!r} has no ansible_host and looks like a "
                f"misspelling of {close[0]!r}; fix the name, or give it an ansible_host"
            )


def _connection_problem(key: str, value: object) -> str | None:
    """Why `value` cannot be the connection variable `key` (None: it can)."""
    if key in ("ansible_user", "ansible_ssh_user", "ansible_become_user"):
        if not isinstance(value, str) or not _LOGIN_NAME.fullmatch(value):
            return (
                f"{str(value)[:80]!r} is not a login name (letters, digits, `_`, `.` and `-`, "
                "not first; at most 32)"
            )
    elif key == "ansible_ssh_host":
        try:
            check_address(value)
        except ValueError as exc:
            return str(exc)
    elif key == "ansible_become":
        if not (
            isinstance(value, bool)
            or (isinstance(value, int) and value in (0, 1))
            or (isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS)
        ):
            return f"{str(value)[:80]!r} is not true or false"
    elif key == "ansible_become_method":
        if value != "sudo":
            return (
                f"{str(value)[:80]!r} is not supported: wmx's own SSH commands (status, logs, "
                "backup, doctor) become root with sudo only; set sudo or remove the variable"
            )
    elif key in ("ansible_port", "ansible_ssh_port"):
        number = value if isinstance(value, int) and not isinstance(value, bool) else None
        if isinstance(value, str) and value.isdigit():
            number = int(value)
        if number is None or not 1 <= number <= 65535:
            return f"{str(value)[:80]!r} is not a port number (1-65535)"
    return None


def check_connection_vars(
    path: Path,
    hosts: Iterable[tuple[str, Mapping[str, Any]]],
    environ: Mapping[str, str] | None = None,
) -> None:
    """Refuse a connection variable wmx's own SSH would put on ssh's command line that is
    not what it claims to be (`inventory.yml:LINE: HOST.KEY: cause`): a login name, an
    address, a port, become's true or false, become's method sudo (the only one wmx's
    own commands use); and every other `ansible_…` variable wmx.site.ssh_options refuses
    (a program of this machine, host key checking off, a connection's variable it does not
    know, a password in plain text). `hosts` are (name, variables) pairs; `environ` (the
    operator's, os.environ by default) may turn host key checking off, and with it the
    known-hosts options of a site's ssh arguments (ssh_options.unchecked_here)."""
    unchecked = unchecked_here(os.environ if environ is None else environ)
    base = (
        "ansible_user", "ansible_ssh_user", "ansible_become_user", "ansible_ssh_host",
        "ansible_become", "ansible_become_method", "ansible_port", "ansible_ssh_port",
    )  # fmt: skip
    keys: tuple[str, ...] = (*base, *SSH_ARG_VARIABLES, *REFUSED_VARIABLES, *PASSWORD_VARIABLES)
    keys += ("ansible_connection",)
    for name, values in hosts:
        others = sorted(k for k in values if k.startswith("ansible_") and k not in keys)
        for key in (*keys, *others):
            value = values.get(key)
            if value is None or (value == "" and _may_be_empty(key)):
                continue
            problem = _connection_problem(key, value) or connection_problem(key, value, unchecked)
            if problem is not None:
                where = variable_line(path, name, None, key, _same(value))
                raise InputError(f"{where}: {name}.{key}: {problem}")


def _may_be_empty(key: str) -> bool:
    """Whether an empty `key` is as good as none: not a login name, an address or a port
    (an empty ansible_user had ssh log in as the operator's own user), not host key
    checking (Ansible reads an empty one as off), not a name refused whatever its value."""
    if key in (*SSH_ARG_VARIABLES, "ansible_connection", "ansible_become", "ansible_become_method"):
        return True
    return is_password_variable(key) or key in KEY_VARIABLES


def _same(value: object) -> Callable[[Any], bool]:
    """Whether a node holds `value` as Ansible gave it (the line of the host's own)."""
    return lambda found: found == value or str(found) == str(value)
