"""redis: Debian's Redis on the homeserver host, for Synapse's workers (their replication
pub/sub channel): only when `synapse.workers` asks for workers, on loopback only, no
persistence (Synapse keeps nothing in it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, Service, SiteViews
from wmx.components.synapse_workers import REDIS_PORT, plan_of

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
        return {"redis_port": REDIS_PORT}

    def removed_from(self, site: Site, host: HostView) -> bool:
        # Workers switched off: Redis goes from the homeserver host (nothing else uses it).
        return "homeserver" in host.groups


COMPONENT = Redis()
