"""synapse_workers: Synapse's worker processes beside the main one (`synapse.workers`,
docs/workers.md), on the homeserver host or on the hosts of the inventory group
`synapse_workers`, talking over Redis (the `redis` component, on the homeserver host)
and the main process's replication listener, with nginx routing each endpoint to its
type (wmx/components/worker_routes.py).

The plan (`worker_plan`) names every worker, places it on a host, gives it its ports and
Synapse settings, and says which endpoints go where. Every process presents
`worker_replication_secret` to the others and Redis's password (secrets.yml), on one
host as on several.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wmx.components.component import (
    Component,
    FirewallRules,
    FirewallSource,
    Service,
    SiteViews,
)
from wmx.components.synapse import SYNAPSE_CURRENT_LINK
from wmx.components.worker_routes import (
    CLIENT_ROUTES,
    FEDERATION_ROUTES,
    MEDIA_ROUTES,
    SYNC_ROUTES,
)
from wmx.site.grammars import host_port
from wmx.site.settings.workers import WORKER_TYPES
from wmx.site.topology import WORKER_GROUP, worker_host_index

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.settings.workers import WorkerSettings
    from wmx.site.topology import HostView

__all__ = ["CLIENT_ROUTES", "FEDERATION_ROUTES", "MEDIA_ROUTES", "SYNC_ROUTES"]

# The main process's HTTP replication listener: loopback, plus the homeserver host's
# address when workers run on other hosts; not Synapse's documented 9093, which is
# Alertmanager's on a monitoring host.
REPLICATION_PORT = 8009
# Worker n (1-based, in WORKER_TYPES order) listens on FIRST_HTTP_PORT + n for requests
# (nginx, or replication for event persisters) and on FIRST_METRICS_PORT + n for metrics.
FIRST_HTTP_PORT = 8100
FIRST_METRICS_PORT = 9300
REDIS_PORT = 6379
WORKERS_CONFIG_DIR = "/etc/matrix-synapse/workers"
WORKER_UNIT = "matrix-synapse-worker@{}.service"
LOOPBACK = "127.0.0.1"
# Worker types that stay on the homeserver host whatever the inventory says
# (HOMESERVER_ONLY): the media repository writes the media store, a directory of that
# host (the main process serves the same files, and the backup copies them from there).

# Worker type → its Synapse app, and the resources of its HTTP listener (none: no
# listener other processes use).
APPS = {"media": "synapse.app.media_repository"}
RESOURCES: dict[str, tuple[str, ...]] = {
    "sync": ("client",),
    "client": ("client",),
    "federation_reader": ("federation",),
    "media": ("media",),
    "event_persister": ("replication",),
}


@dataclass(frozen=True)
class Ports:
    """Where the processes listen; the defaults are the hosts', tests pick free ones."""

    replication: int = REPLICATION_PORT
    first_http: int = FIRST_HTTP_PORT
    first_metrics: int = FIRST_METRICS_PORT
    redis: int = REDIS_PORT


@dataclass(frozen=True)
class Place:
    """An inventory host as the plan sees it: its name and its internal address (where
    the site's other hosts reach it)."""

    name: str
    address: str


@dataclass(frozen=True)
class Layout:
    """Where Synapse's processes run: the homeserver host (the main process, Redis, the
    media worker), the hosts of group `synapse_workers` (none: every worker on the
    homeserver host) and the proxy's host. The default: one host, all on loopback."""

    homeserver: Place = Place("", LOOPBACK)
    worker_hosts: tuple[Place, ...] = ()
    proxy: str = ""

    @property
    def spread(self) -> bool:
        """Whether Synapse's processes talk across hosts (then over site addresses)."""
        return bool(self.worker_hosts)

    def host_for(self, kind: str, index: int) -> Place:
        """Where the `index`th worker of `kind` runs: round robin per type over the worker
        hosts (wmx.site.topology.worker_host_index, which the load check uses too)."""
        at = worker_host_index(kind, index, len(self.worker_hosts))
        return self.homeserver if at is None else self.worker_hosts[at]


@dataclass(frozen=True)
class Worker:
    name: str  # worker_name, and the systemd instance: matrix-synapse-worker@NAME
    kind: str  # one of WORKER_TYPES
    port: int  # HTTP listener (for nginx, or replication for event persisters)
    metrics_port: int
    index: int = 1  # its number among the workers of its type (Prometheus's `index`)
    host: Place = Place("", LOOPBACK)  # the host it runs on
    # Where its HTTP listener binds: loopback, plus its host's address when another
    # host calls it (a remote proxy, or other Synapse processes for event persisters).
    http_binds: tuple[str, ...] = (LOOPBACK,)

    @property
    def index_label(self) -> str:
        return str(self.index)

    @property
    def app(self) -> str:
        return APPS.get(self.kind, "synapse.app.generic_worker")

    @property
    def unit(self) -> str:
        return WORKER_UNIT.format(self.name)

    def config(self, metrics_bind: str) -> dict[str, Any]:
        """The worker's own configuration file (read after homeserver.yaml and conf.d/):
        its HTTP listener, and metrics on loopback and `metrics_bind`."""
        listeners: list[dict[str, Any]] = []
        resources = RESOURCES.get(self.kind)
        if resources:
            listeners.append(
                {
                    "type": "http",
                    "port": self.port,
                    "bind_addresses": list(self.http_binds),
                    "x_forwarded": True,
                    "resources": [{"names": list(resources), "compress": False}],
                }
            )
        binds = [LOOPBACK] + ([metrics_bind] if metrics_bind != LOOPBACK else [])
        listeners.append({"type": "metrics", "port": self.metrics_port, "bind_addresses": binds})
        return {
            "worker_app": self.app,
            "worker_name": self.name,
            "worker_listeners": listeners,
            "worker_log_config": "/etc/matrix-synapse/log.yaml",
        }


@dataclass(frozen=True)
class Upstream:
    """An nginx upstream of workers of one type, and the routes it serves."""

    name: str
    balance: str  # nginx's balancing directive ("" : round robin)
    servers: tuple[str, ...]
    routes: tuple[str, ...]


@dataclass(frozen=True)
class WorkerPlan:
    workers: tuple[Worker, ...] = ()
    upstreams: tuple[Upstream, ...] = ()
    shared: dict[str, Any] = field(default_factory=dict)  # homeserver.yaml's additions
    ports: Ports = Ports()
    layout: Layout = Layout()

    def __bool__(self) -> bool:
        return bool(self.workers)

    @property
    def replication_port(self) -> int:
        """The main process's replication listener."""
        return self.ports.replication

    @property
    def main_address(self) -> str:
        """Where the other processes reach the main process's replication listener and
        Redis: loopback on one host, else the homeserver host's address."""
        return self.layout.homeserver.address if self.layout.spread else LOOPBACK

    @property
    def main_binds(self) -> tuple[str, ...]:
        """Where the replication listener and Redis listen."""
        return (LOOPBACK, self.main_address) if self.layout.spread else (LOOPBACK,)

    def of(self, kind: str) -> list[Worker]:
        return [w for w in self.workers if w.kind == kind]

    def on(self, host: str) -> list[Worker]:
        """The workers `host` runs."""
        return [w for w in self.workers if w.host.name == host]

    def peers(self, host: str) -> list[Place]:
        """The other hosts running Synapse processes, which call `host`'s (replication)."""
        hosts = {self.layout.homeserver, *(w.host for w in self.workers)}
        return sorted((h for h in hosts if h.name != host), key=lambda h: h.name)

    def scrape_targets(self, monitor: str) -> list[tuple[Worker, str]]:
        """Each worker and the address Prometheus on host `monitor` scrapes it at."""
        return [
            (w, host_port(LOOPBACK if w.host.name == monitor else w.host.address, w.metrics_port))
            for w in self.workers
        ]


_BALANCE = {
    # One user's /sync requests on one worker (its caches): hash on the token's
    # localpart part (syt_<localpart>_…), as Synapse's documentation does.
    "sync": "hash $wmx_sync_key consistent",
    # One remote server's transactions on one worker: by source address.
    "federation_reader": "hash $remote_addr consistent",
}
_ROUTES: dict[str, tuple[str, ...]] = {
    "sync": SYNC_ROUTES,
    "client": CLIENT_ROUTES,
    "federation_reader": FEDERATION_ROUTES,
    "media": MEDIA_ROUTES,
}


# The types nginx sends requests to.
ROUTED = frozenset(_ROUTES)


def _http_binds(kind: str, host: Place, layout: Layout) -> tuple[str, ...]:
    remote_proxy = kind in ROUTED and host.name != layout.proxy
    remote_peers = kind == "event_persister" and layout.spread
    return (LOOPBACK, host.address) if remote_proxy or remote_peers else (LOOPBACK,)


def worker_plan(
    settings: WorkerSettings,
    *,
    federation: bool = True,
    ports: Ports = Ports(),
    layout: Layout = Layout(),
) -> WorkerPlan:
    """Every worker `settings` asks for, its host and ports, nginx's upstreams and the
    shared settings homeserver.yaml gains (empty when the preset is none and no count
    is set)."""
    counts = settings.counts()
    workers: list[Worker] = []
    for kind in WORKER_TYPES:
        for index in range(1, counts[kind] + 1):
            n = len(workers) + 1
            name = f"{kind.replace('_', '-')}{index}"
            host = layout.host_for(kind, index)
            http, metrics = ports.first_http + n, ports.first_metrics + n
            binds = _http_binds(kind, host, layout)
            workers.append(Worker(name, kind, http, metrics, index, host, binds))
    plan = WorkerPlan(tuple(workers), ports=ports, layout=layout)
    if not workers:
        return plan

    def reach(w: Worker) -> str:
        # nginx reaches a worker on its own host over loopback.
        return LOOPBACK if w.host.name == layout.proxy else w.host.address

    upstreams = tuple(
        Upstream(
            f"synapse_{kind}",
            _BALANCE.get(kind, ""),
            tuple(host_port(reach(w), w.port) for w in plan.of(kind)),
            routes,
        )
        for kind, routes in _ROUTES.items()
        if plan.of(kind) and (federation or kind != "federation_reader")
    )
    return WorkerPlan(plan.workers, upstreams, _shared(plan), ports, layout)


def _shared(plan: WorkerPlan) -> dict[str, Any]:
    """homeserver.yaml's additions, for every process (Redis's settings, which hold its
    password, and worker_replication_secret go to conf.d/secrets.yaml instead)."""
    names = {kind: [w.name for w in plan.of(kind)] for kind in WORKER_TYPES}
    spread = plan.layout.spread
    shared: dict[str, Any] = {
        "instance_map": {
            "main": {"host": plan.main_address, "port": plan.ports.replication},
            **{
                w.name: {"host": w.host.address if spread else LOOPBACK, "port": w.port}
                for w in plan.of("event_persister")
            },
        },
    }
    if names["event_persister"]:
        shared["stream_writers"] = {"events": names["event_persister"]}
    if names["federation_sender"]:
        shared["federation_sender_instances"] = names["federation_sender"]
    if names["pusher"]:
        shared["pusher_instances"] = names["pusher"]
    if names["background"]:
        background = names["background"][0]
        shared["run_background_tasks_on"] = background
        shared["update_user_directory_from_worker"] = background
        shared["notify_appservices_from_worker"] = background
    if names["media"]:
        # The main process keeps serving media too (the Admin API's media endpoints,
        # which wmx reaches on the main process, and nginx's fallback); the media
        # worker runs the media repository's background jobs.
        shared["media_instance_running_background_jobs"] = names["media"][0]
    return shared


def redis_settings(plan: WorkerPlan, password: str) -> dict[str, Any]:
    """Synapse's `redis:` section (conf.d/secrets.yaml: it holds the password)."""
    return {
        "enabled": True,
        "host": plan.main_address,
        "port": plan.ports.redis,
        "password": password,
    }


def layout_of(site: Site) -> Layout:
    topology = site.topology
    homeserver = topology.the("homeserver")
    return Layout(
        # Where the other Synapse hosts, nginx and Prometheus reach each host.
        homeserver=Place(homeserver.name, homeserver.internal_address),
        worker_hosts=tuple(
            Place(h.name, h.internal_address) for h in topology.in_group(WORKER_GROUP)
        ),
        proxy=topology.the("proxy").name,
    )


def plan_of(site: Site) -> WorkerPlan:
    """The site's plan, its workers placed on the site's hosts."""
    return worker_plan(
        site.config.synapse.workers,
        federation=site.config.homeserver.federation,
        layout=layout_of(site),
    )


class SynapseWorkers(Component):
    name = "synapse_workers"
    services = (
        Service("synapse-workers", "matrix-synapse-worker@*.service", SYNAPSE_CURRENT_LINK),
    )

    def runs_on(self, site: Site, host: HostView) -> bool:
        # On each host the plan places a worker on.
        return bool(plan_of(site).on(host.name))

    def removed_from(self, site: Site, host: HostView) -> bool:
        return bool({"homeserver", WORKER_GROUP} & set(host.groups))

    def view(self, site: Site) -> WorkerPlan | None:
        plan = plan_of(site)
        return plan if plan else None

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        plan: WorkerPlan | None = views[self.name]
        password = views.site.secrets.redis_password
        return {
            "workers": plan,
            # conf.d/secrets.yaml's `redis:` (with the password), for every process.
            "redis_settings": redis_settings(plan, password) if plan else None,
        }

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        # A remote proxy reaches the workers that serve requests, the monitoring host
        # their metrics, the other Synapse hosts the event persisters' replication.
        plan: WorkerPlan | None = views[self.name]
        if not plan:
            return FirewallRules()
        topology = views.site.topology
        proxies = [p for p in topology.in_group("proxy") if p.name != host.name]
        monitor = topology.monitoring_host
        scraper = [monitor] if monitor is not None and monitor.name != host.name else []
        mine = plan.on(host.name)
        # On the homeserver host, with workers elsewhere: the main process's replication
        # listener and Redis, for the worker hosts only.
        main = (
            tuple(
                FirewallSource(port, peer.address)
                for port in (plan.replication_port, plan.ports.redis)
                for peer in plan.peers(host.name)
            )
            if plan.layout.spread and host.name == plan.layout.homeserver.name
            else ()
        )
        return FirewallRules(
            restricted=main
            + tuple(
                FirewallSource(w.port, p.internal_address)
                for w in mine
                if w.kind in ROUTED
                for p in proxies
            )
            + tuple(
                FirewallSource(w.port, p.address)
                for w in mine
                if w.kind == "event_persister"
                for p in plan.peers(host.name)
            )
            + tuple(
                FirewallSource(w.metrics_port, m.internal_address) for w in mine for m in scraper
            )
        )

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        from wmx.components.exporters import metrics_bind_for

        plan: WorkerPlan = views[self.name]
        bind = metrics_bind_for(views.site.topology, host)
        return {
            "synapse_workers_instances": [
                {
                    "name": w.name,
                    "port": w.port,
                    "http": w.kind in RESOURCES,
                    "config": w.config(bind),
                }
                for w in plan.on(host.name)
            ],
        }


COMPONENT = SynapseWorkers()
