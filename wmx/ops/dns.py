"""`wmx dns`: the DNS records a site needs, and what resolves today.

Every name the proxy answers for (the server name, which serves `.well-known`, the
homeserver, the web client, TURN's name when coturn uses the site's certificate) needs an
A record, and an AAAA record when the host has IPv6, pointing at the proxy host; TURN's
name without TLS points at the TURN host. The CAA record is a suggestion: it lets only
the site's CA issue certificates for these names. No `_matrix-fed._tcp` SRV record is
suggested: `.well-known/matrix/server` delegates federation, and a server that fell back
to such a record would ask the proxy for the server name's own host (the spec's `Host`
for that step), where wmx's nginx serves `.well-known` only.

Addresses come from the inventory: `ansible_host`, and `public_ipv4` / `public_ipv6` when
the host is reached over another address (a VPN, 1:1 NAT) or has IPv6 besides. The check asks the
system's resolver (hosts files count, as they do for the lab).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from wmx.components.nginx import public_names
from wmx.components.turn import turn_view
from wmx.doctor import dns as lookup
from wmx.errors import InputError
from wmx.site import Site
from wmx.site.topology import HostView

TTL = 3600
# CAA issuer domains of well-known ACME directories (RFC 8659 "issue" values).
CA_ISSUERS = {
    "letsencrypt.org": "letsencrypt.org",
    "api.buypass.com": "buypass.com",
    "acme.zerossl.com": "sectigo.com",
}
PUBLIC_V4 = "public_ipv4"
PUBLIC_V6 = "public_ipv6"


@dataclass(frozen=True)
class Record:
    name: str  # fully qualified, without the final dot
    type: str  # A, AAAA, CAA
    value: str
    purpose: str
    required: bool = True

    def zone_line(self, ttl: int = TTL) -> str:
        line = f"{self.name}. {ttl} IN {self.type} {self.value}"
        return line if self.required else f"{line}  ; optional"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "value": self.value,
            "purpose": self.purpose,
            "required": self.required,
            "zone_line": self.zone_line(),
        }


@dataclass(frozen=True)
class Finding:
    record: Record
    ok: bool
    found: list[str]
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {**self.record.as_dict(), "ok": self.ok, "found": self.found, "detail": self.detail}


def host_addresses(host: HostView) -> tuple[list[str], list[str]]:
    """The public IPv4 and IPv6 addresses of `host`: public_ipv4 / public_ipv6 from the
    inventory (checked when it was loaded), else ansible_host's own (an address, or a name
    resolved now) for the family that has none given."""
    # Normalised (IPv6 compressed, lower case) as resolvers print them: the check
    # compares strings, and "2001:DB8::7" would never match a correct AAAA record.
    v4 = [str(ipaddress.ip_address(str(v))) for v in _listed(host.vars.get(PUBLIC_V4))]
    v6 = [str(ipaddress.ip_address(str(v))) for v in _listed(host.vars.get(PUBLIC_V6))]
    if v4 and v6:
        return v4, v6
    try:
        found = [ipaddress.ip_address(host.address)]
    except ValueError:
        found = [ipaddress.ip_address(a) for a in lookup.addresses(host.address)]
    if not found and not (v4 or v6):
        raise InputError(
            f"inventory: {host.name}: ansible_host {host.address!r} does not resolve; "
            f"give its address (or {PUBLIC_V4} / {PUBLIC_V6})"
        )
    return (
        v4 or [str(a) for a in found if a.version == 4],
        v6 or [str(a) for a in found if a.version == 6],
    )


def _listed(value: object) -> list[object]:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _address_records(name: str, host: HostView, purpose: str) -> list[Record]:
    v4, v6 = host_addresses(host)
    return [Record(name, "A", a, purpose) for a in v4] + [
        Record(name, "AAAA", a, purpose) for a in v6
    ]


def _purposes(site: Site) -> dict[str, str]:
    config = site.config
    turn = turn_view(site)
    purposes: dict[str, list[str]] = {}
    named = [
        (config.server_name, "server name: serves .well-known"),
        (config.homeserver.host, "homeserver (client and federation API)"),
        (config.web_client.host, "web client"),
        *([(turn.name, "TURN over TLS")] if turn is not None and turn.tls else []),
    ]
    for name, purpose in named:
        purposes.setdefault(name, []).append(purpose)
    return {name: "; ".join(what) for name, what in purposes.items()}


def ca_issuer(directory: str) -> str | None:
    """The CAA issuer domain of the CA behind an ACME directory URL (None: unknown)."""
    host = (urlsplit(directory).hostname or "").lower()
    for suffix, issuer in CA_ISSUERS.items():
        if host == suffix or host.endswith("." + suffix):
            return issuer
    return None


def needed_records(site: Site) -> list[Record]:
    """Every record the site needs (then the optional ones), in a stable order."""
    config = site.config
    proxy = site.topology.first_in("proxy")
    if proxy is None:
        raise InputError("inventory: the group `proxy` has no host")
    purposes = _purposes(site)
    records: list[Record] = []
    for name in public_names(site):
        records += _address_records(name, proxy, purposes.get(name, "served by the proxy"))
    turn = turn_view(site)
    if turn is not None and not turn.tls and turn.name not in public_names(site):
        records += _address_records(turn.name, turn.host, "TURN (calls)")
    issuer = ca_issuer(config.acme.directory)
    if issuer is not None:
        # CAA applies to a name and the names below it: the server name's covers its
        # subdomains; a name elsewhere (another domain) gets its own.
        server = config.server_name
        elsewhere = [n for n in public_names(site) if n != server and not n.endswith(f".{server}")]
        for name in [server, *elsewhere]:
            records.append(
                Record(
                    name,
                    "CAA",
                    f'0 issue "{issuer}"',
                    "only this CA may issue certificates",
                    required=False,
                )
            )
    return records


def check_records(records: list[Record]) -> list[Finding]:
    """What resolves today, record by record (CAA is a suggestion and is not checked)."""
    findings: list[Finding] = []
    resolved: dict[str, lookup.Resolution] = {}
    for record in records:
        if record.type in ("A", "AAAA"):
            if record.name not in resolved:
                resolved[record.name] = lookup.resolve(record.name)
            answer = resolved[record.name]
            version = 4 if record.type == "A" else 6
            found = [a for a in answer.addresses if ipaddress.ip_address(a).version == version]
            if record.value in found:
                findings.append(Finding(record, True, found, "resolves here"))
            elif not found:
                findings.append(Finding(record, False, found, _missing(record.type, answer)))
            else:
                findings.append(
                    Finding(record, False, found, f"points at {', '.join(found)}, not here")
                )
    return findings


def _missing(kind: str, answer: lookup.Resolution) -> str:
    """Why no `kind` address was found: the DNS said so, or it could not be asked."""
    if answer.failure:
        return f"not checked: {answer.failure}"
    if answer.nxdomain:
        return f"no {kind} record: no such name (NXDOMAIN)"
    return f"no {kind} record"


def stray_ipv6(records: list[Record]) -> list[Finding]:
    """Names with AAAA records while the inventory gives the host no IPv6 address: clients
    and the CA that prefer IPv6 would reach another machine (or none)."""
    with_v6 = {r.name for r in records if r.type == "AAAA"}
    findings = []
    for record in {r.name: r for r in records if r.type == "A"}.values():
        if record.name in with_v6:
            continue
        found = [a for a in lookup.addresses(record.name) if ":" in a]
        if found:
            stray = Record(
                record.name, "AAAA", "(none: the host has no IPv6 address)", record.purpose
            )
            findings.append(
                Finding(
                    stray,
                    False,
                    found,
                    f"has AAAA {', '.join(found)}: remove it, or give the host "
                    f"{PUBLIC_V6} in the inventory",
                )
            )
    return findings
