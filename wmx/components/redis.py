"""redis: Debian's Redis on the homeserver host, for Synapse's workers (their replication
pub/sub channel): only when `synapse.workers` asks for workers; on loopback, plus the
host's address (firewalled to the worker hosts) when workers run on other hosts; with a
password (`redis_password` of secrets.yml) either way; no persistence (Synapse keeps
nothing in it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, Service, SiteViews
from wmx.components.synapse_workers import REDIS_PORT, WorkerPlan, plan_of

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.topology import HostView

__all__ = ["COMPONENT", "REDIS_PORT"]


class Redis(Component):
    name = "redis"
    services = (Service("redis", "redis-server.service", "redis-server"),)

    def runs_on(self, site: Site, host: HostView) -> bool:
        return "homeserver" in host.groups and bool(plan_of(site))

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        plan: WorkerPlan | None = views["synapse_workers"]
        binds = plan.main_binds if plan else ("127.0.0.1",)
        # Loopback alone also takes IPv6's (`-`: if the host has it).
        line = " ".join(binds) if len(binds) > 1 else "127.0.0.1 -::1"
        return {"redis_port": REDIS_PORT, "redis_bind": line}

    def removed_from(self, site: Site, host: HostView) -> bool:
        # Workers switched off: Redis goes from the homeserver host (nothing else uses it).
        return "homeserver" in host.groups


COMPONENT = Redis()
