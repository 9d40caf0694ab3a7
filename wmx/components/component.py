"""What every component is: the interface each module of wmx/components/ fills in.

A component is one unit of what wmx deploys (Synapse, nginx, the backups, …): its own
module here, its templates in `templates/<name>/` and its Ansible role in
`playbooks/roles/<name>/`. The module says which inventory groups run it, when it is on
for a host, what its templates see, what its role needs (vars.json), which systemd units
it runs (`wmx status`, `wmx logs`), which ports it opens, and when a host must have it
removed. `wmx.render.plan` asks every component in the registry's order; nothing else
branches on a component's name.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.topology import HostView

# The role step that converges a component (the role's main task file); other actions
# name another task file of the role (`remove`, `start`, `repositories`).
CONVERGE = "converge"
REMOVE = "remove"


@dataclass(frozen=True)
class Service:
    """A systemd unit of a component; `unit` may be a glob (postgresql@*-main)."""

    name: str  # what operators call it: `wmx logs synapse`
    unit: str
    # How the host tells its version: a Debian package, `postgresql` (the cluster's
    # major version's package), the path of a `current` link to a venv named after its
    # release (SYNAPSE_CURRENT_LINK), or "".
    version_from: str = ""
    groups: tuple[str, ...] = ()  # only on hosts in one of these groups (exporters)


@dataclass(frozen=True)
class Step:
    """One entry of vars.json's `wmx_roles`: run this task file of this role.

    `before` places the step just ahead of another component's steps (the IRC bridge's
    registration must exist before Synapse starts): the plan orders steps by the
    registry position of `before` or, without it, of their own component. It is a hint
    for that ordering only, not part of the step: vars.json does not carry it, and the
    deploy (wmx.ops.deploy_plan), which reads the steps back from vars.json, compares
    and counts steps by role and action alone.
    """

    role: str
    action: str = CONVERGE
    before: str | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """`role:action`, how converged.json and `--only` name the step."""
        return f"{self.role}:{self.action}"

    def as_json(self) -> dict[str, str]:
        return {"role": self.role, "action": self.action}


@dataclass(frozen=True)
class FirewallSource:
    """One address allowed to reach a restricted port, with its nftables family."""

    port: int
    address: str

    @property
    def family(self) -> str:
        """`ip6` for an IPv6 literal, else `ip`. (A source is another host's internal
        address, an IP address: checked at load, wmx.site.internal_address.)"""
        try:
            network = ipaddress.ip_network(self.address, strict=False)
            return "ip6" if network.version == 6 else "ip"
        except ValueError:
            return "ip"


@dataclass(frozen=True)
class FirewallRules:
    """What a component asks of a host's nftables input chain."""

    tcp_ports: tuple[int, ...] = ()  # open to anyone
    udp_ports: tuple[str, ...] = ()  # open to anyone: ports and ranges ("49152-65535")
    restricted: tuple[FirewallSource, ...] = ()  # open to one address each


@dataclass(frozen=True)
class FirewallView:
    """What a host's nftables input chain accepts besides loopback, ICMP and replies."""

    tcp_ports: tuple[int, ...]  # open to anyone
    restricted: tuple[FirewallSource, ...]  # open to one address each
    udp_ports: tuple[str, ...] = ()  # open to anyone: ports and ranges ("49152-65535")


def single_address_network(address: str) -> str:
    """An address as pg_hba.conf wants it: a /32 or /128 network, or a host name."""
    try:
        return str(ipaddress.ip_network(address))  # 10.0.0.5 → 10.0.0.5/32
    except ValueError:
        return address


@dataclass
class SiteViews:
    """The views of a site, each computed once (`Component.view`), by component name.

    A view is None when its component runs nowhere in the site.
    """

    site: Site
    components: tuple[Component, ...]
    views: dict[str, Any] = field(default_factory=dict)
    # (component, host) → Component.host_view, each computed once.
    _host_views: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, name: str) -> Any:
        return self.views[name]

    def of_host(self, component: Component, host: HostView) -> Any:
        """`component.host_view(self, host)`, computed on first use only: its context and
        its role vars read the same object."""
        key = (component.name, host.name)
        if key not in self._host_views:
            self._host_views[key] = component.host_view(self, host)
        return self._host_views[key]


class Component:
    """The defaults: a component runs on the hosts of its groups, renders its templates,
    adds nothing to vars.json, runs no service, opens no port and is never removed."""

    name: ClassVar[str]
    # Inventory groups whose hosts run it (none: `runs_on` decides, as for `base`).
    groups: ClassVar[tuple[str, ...]] = ()
    # Its templates/<name>/ exists (a component may have only a role: backup_repo).
    renders_files: ClassVar[bool] = True
    # The sections of wmx.yaml (fields of SiteConfig) that are its settings, each
    # modelled in wmx/site/settings/<name>.py.
    settings_sections: ClassVar[tuple[str, ...]] = ()
    services: ClassVar[tuple[Service, ...]] = ()

    def runs_on(self, site: Site, host: HostView) -> bool:
        """Whether `host` converges this component."""
        return bool(set(self.groups) & set(host.groups))

    def removed_from(self, site: Site, host: HostView) -> bool:
        """Whether a host that does not run it must have it removed (it may have before)."""
        return False

    def view(self, site: Site) -> Any:
        """The site-wide view templates see (None when it runs nowhere): computed once."""
        return None

    def host_view(self, views: SiteViews, host: HostView) -> Any:
        """What it derives for one host, when its context and role vars share it; read it
        through `views.of_host(self, host)`, which computes it once."""
        return None

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        """Template context entries for `host` (every host sees every component's)."""
        return {}

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        """The ports this component opens on `host` (it may run elsewhere: a database
        host opens PostgreSQL to the homeserver's host)."""
        return FirewallRules()

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        """Its role's part of vars.json on a host that runs it (never a secret)."""
        return {}

    def steps(self) -> tuple[Step, ...]:
        """The role steps that converge it, in order."""
        return (Step(self.name),)

    def remove_steps(self) -> tuple[Step, ...]:
        return (Step(self.name, REMOVE),)

    def host_services(self, host: HostView) -> list[Service]:
        return [s for s in self.services if not s.groups or set(s.groups) & set(host.groups)]
