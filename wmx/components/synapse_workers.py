"""synapse_workers: Synapse's worker processes beside the main one (`synapse.workers`,
docs/workers.md), on the homeserver host, talking over Redis (the `redis` component) and
the main process's replication listener, with nginx routing each endpoint to its type.

The plan (`worker_plan`) names every worker, gives it its ports and Synapse settings, and
says which endpoints go where, from the lists of Synapse's worker documentation
(docs/workers.md there, "synapse.app.generic_worker" and "synapse.app.media_repository").
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
from wmx.site.settings.workers import WORKER_TYPES

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.settings.workers import WorkerSettings
    from wmx.site.topology import HostView

# The main process's HTTP replication listener (loopback: every worker is on its host);
# not Synapse's documented 9093, which is Alertmanager's on a monitoring host.
REPLICATION_PORT = 8009
# Worker n (1-based, in WORKER_TYPES order) listens on FIRST_HTTP_PORT + n for requests
# (nginx, or replication for event persisters) and on FIRST_METRICS_PORT + n for metrics.
FIRST_HTTP_PORT = 8100
FIRST_METRICS_PORT = 9300
REDIS_PORT = 6379
WORKERS_CONFIG_DIR = "/etc/matrix-synapse/workers"
WORKER_UNIT = "matrix-synapse-worker@{}.service"

_C = r"(api/v1|r0|v3|unstable)"
_C3 = r"(r0|v3|unstable)"
# Synapse's generic worker lists, by what nginx does with them.
SYNC_ROUTES: tuple[str, ...] = (
    r"^/_matrix/client/(r0|v3)/sync$",
    r"^/_matrix/client/(api/v1|r0|v3)/events$",
    r"^/_matrix/client/(api/v1|r0|v3)/initialSync$",
    r"^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$",
)
CLIENT_ROUTES: tuple[str, ...] = (
    rf"^/_matrix/client/{_C}/createRoom$",
    rf"^/_matrix/client/{_C}/publicRooms$",
    rf"^/_matrix/client/{_C}/rooms/.*/joined_members$",
    rf"^/_matrix/client/{_C}/rooms/.*/context/.*$",
    rf"^/_matrix/client/{_C}/rooms/.*/members$",
    rf"^/_matrix/client/{_C}/rooms/.*/state$",
    r"^/_matrix/client/v1/rooms/.*/hierarchy$",
    r"^/_matrix/client/(v1|unstable)/rooms/.*/relations/",
    r"^/_matrix/client/v1/rooms/.*/threads$",
    rf"^/_matrix/client/{_C3}/account/3pid$",
    rf"^/_matrix/client/{_C3}/account/whoami$",
    rf"^/_matrix/client/{_C3}/account/deactivate$",
    r"^/_matrix/client/(r0|v3)/delete_devices$",
    rf"^/_matrix/client/{_C}/devices(/|$)",
    r"^/_matrix/client/versions$",
    rf"^/_matrix/client/{_C}/voip/turnServer$",
    rf"^/_matrix/client/{_C}/rooms/.*/event/",
    rf"^/_matrix/client/{_C}/joined_rooms$",
    r"^/_matrix/client/v1/rooms/.*/timestamp_to_event$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases",
    rf"^/_matrix/client/{_C}/search$",
    rf"^/_matrix/client/{_C3}/user/.*/filter(/|$)",
    rf"^/_matrix/client/{_C}/directory/room/.*$",
    rf"^/_matrix/client/{_C3}/capabilities$",
    rf"^/_matrix/client/{_C3}/notifications$",
    rf"^/_matrix/client/{_C3}/keys/query$",
    rf"^/_matrix/client/{_C3}/keys/changes$",
    rf"^/_matrix/client/{_C3}/keys/claim$",
    rf"^/_matrix/client/{_C3}/room_keys/",
    rf"^/_matrix/client/{_C3}/keys/upload",
    rf"^/_matrix/client/{_C}/keys/device_signing/upload$",
    rf"^/_matrix/client/{_C}/keys/signatures/upload$",
    rf"^/_matrix/client/{_C}/login$",
    rf"^/_matrix/client/{_C3}/register$",
    rf"^/_matrix/client/{_C3}/register/available$",
    r"^/_matrix/client/v1/register/m.login.registration_token/validity$",
    rf"^/_matrix/client/{_C3}/password_policy$",
    rf"^/_matrix/client/{_C}/rooms/.*/redact",
    rf"^/_matrix/client/{_C}/rooms/.*/send",
    rf"^/_matrix/client/{_C}/rooms/.*/state/",
    rf"^/_matrix/client/{_C}/rooms/.*/(join|invite|leave|ban|unban|kick)$",
    rf"^/_matrix/client/{_C}/join/",
    rf"^/_matrix/client/{_C}/knock/",
    rf"^/_matrix/client/{_C}/profile/",
    rf"^/_matrix/client/{_C3}/user_directory/search$",
)
FEDERATION_ROUTES: tuple[str, ...] = (
    r"^/_matrix/federation/v1/version$",
    r"^/_matrix/federation/v1/event/",
    r"^/_matrix/federation/v1/state/",
    r"^/_matrix/federation/v1/state_ids/",
    r"^/_matrix/federation/v1/backfill/",
    r"^/_matrix/federation/v1/get_missing_events/",
    r"^/_matrix/federation/v1/publicRooms",
    r"^/_matrix/federation/v1/query/",
    r"^/_matrix/federation/v1/make_join/",
    r"^/_matrix/federation/v1/make_leave/",
    r"^/_matrix/federation/(v1|v2)/send_join/",
    r"^/_matrix/federation/(v1|v2)/send_leave/",
    r"^/_matrix/federation/v1/make_knock/",
    r"^/_matrix/federation/v1/send_knock/",
    r"^/_matrix/federation/(v1|v2)/invite/",
    r"^/_matrix/federation/v1/event_auth/",
    r"^/_matrix/federation/v1/timestamp_to_event/",
    r"^/_matrix/federation/v1/exchange_third_party_invite/",
    r"^/_matrix/federation/v1/user/devices/",
    r"^/_matrix/key/v2/query",
    r"^/_matrix/federation/v1/hierarchy/",
    r"^/_matrix/federation/v1/send/",
)
MEDIA_ROUTES: tuple[str, ...] = (
    r"^/_matrix/media/",
    r"^/_matrix/client/v1/media/",
    r"^/_matrix/federation/v1/media/",
)
# Worker type → its Synapse app, the resources of its HTTP listener (none: no listener
# nginx uses), and the routes nginx sends it with how it balances them.
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
class Worker:
    name: str  # worker_name, and the systemd instance: matrix-synapse-worker@NAME
    kind: str  # one of WORKER_TYPES
    port: int  # HTTP listener (for nginx, or replication for event persisters)
    metrics_port: int
    index: int = 1  # its number among the workers of its type (Prometheus's `index`)

    @property
    def index_label(self) -> str:
        return str(self.index)

    @property
    def app(self) -> str:
        return APPS.get(self.kind, "synapse.app.generic_worker")

    @property
    def unit(self) -> str:
        return WORKER_UNIT.format(self.name)

    def config(
        self, metrics_bind: str, http_binds: tuple[str, ...] = ("127.0.0.1",)
    ) -> dict[str, Any]:
        """The worker's own configuration file (read after homeserver.yaml and conf.d/):
        its HTTP listener on `http_binds` (loopback, plus the host's address when nginx
        runs elsewhere), metrics on loopback and `metrics_bind`."""
        listeners: list[dict[str, Any]] = []
        resources = RESOURCES.get(self.kind)
        if resources:
            listeners.append(
                {
                    "type": "http",
                    "port": self.port,
                    "bind_addresses": list(http_binds),
                    "x_forwarded": True,
                    "resources": [{"names": list(resources), "compress": False}],
                }
            )
        binds = ["127.0.0.1"] + ([metrics_bind] if metrics_bind != "127.0.0.1" else [])
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

    def __bool__(self) -> bool:
        return bool(self.workers)

    @property
    def replication_port(self) -> int:
        """The main process's replication listener (loopback)."""
        return self.ports.replication

    def of(self, kind: str) -> list[Worker]:
        return [w for w in self.workers if w.kind == kind]


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


def worker_plan(
    settings: WorkerSettings,
    *,
    federation: bool = True,
    ports: Ports = Ports(),
    address: str = "127.0.0.1",
) -> WorkerPlan:
    """Every worker `settings` asks for, its ports, nginx's upstreams and the shared
    settings homeserver.yaml gains (empty when the preset is none and no count is set)."""
    counts = settings.counts()
    workers: list[Worker] = []
    for kind in WORKER_TYPES:
        for index in range(1, counts[kind] + 1):
            n = len(workers) + 1
            name = f"{kind.replace('_', '-')}{index}"
            workers.append(Worker(name, kind, ports.first_http + n, ports.first_metrics + n, index))
    plan = WorkerPlan(tuple(workers), ports=ports)
    if not workers:
        return plan
    upstreams = tuple(
        Upstream(
            f"synapse_{kind}",
            _BALANCE.get(kind, ""),
            tuple(f"{address}:{w.port}" for w in plan.of(kind)),
            routes,
        )
        for kind, routes in _ROUTES.items()
        if plan.of(kind) and (federation or kind != "federation_reader")
    )
    return WorkerPlan(plan.workers, upstreams, _shared(plan), ports)


def _shared(plan: WorkerPlan) -> dict[str, Any]:
    names = {kind: [w.name for w in plan.of(kind)] for kind in WORKER_TYPES}
    shared: dict[str, Any] = {
        "redis": {"enabled": True, "host": "127.0.0.1", "port": plan.ports.redis},
        "instance_map": {
            "main": {"host": "127.0.0.1", "port": plan.ports.replication},
            **{w.name: {"host": "127.0.0.1", "port": w.port} for w in plan.of("event_persister")},
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


def plan_of(site: Site) -> WorkerPlan:
    """The site's plan: nginx reaches the workers on loopback, or on the homeserver
    host's address when it runs on another host."""
    homeserver = site.topology.the("homeserver")
    local = site.topology.the("proxy").name == homeserver.name
    return worker_plan(
        site.config.synapse.workers,
        federation=site.config.homeserver.federation,
        address="127.0.0.1" if local else homeserver.address,
    )


class SynapseWorkers(Component):
    name = "synapse_workers"
    services = (Service("synapse-workers", "matrix-synapse-worker@*.service", "synapse"),)

    def runs_on(self, site: Site, host: HostView) -> bool:
        # On the homeserver host, when wmx.yaml asks for workers.
        return "homeserver" in host.groups and bool(plan_of(site))

    def removed_from(self, site: Site, host: HostView) -> bool:
        return "homeserver" in host.groups

    def view(self, site: Site) -> WorkerPlan | None:
        plan = plan_of(site)
        return plan if plan else None

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {"workers": views[self.name]}

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        # A remote proxy reaches the workers that serve requests.
        plan: WorkerPlan | None = views[self.name]
        if not plan or "homeserver" not in host.groups:
            return FirewallRules()
        topology = views.site.topology
        proxies = [p for p in topology.in_group("proxy") if p.name != host.name]
        monitor = topology.monitoring_host
        scraper = [monitor] if monitor is not None and monitor.name != host.name else []
        return FirewallRules(
            restricted=tuple(
                FirewallSource(w.port, p.address)
                for w in plan.workers
                if w.kind in ROUTED
                for p in proxies
            )
            + tuple(
                FirewallSource(w.metrics_port, m.address) for w in plan.workers for m in scraper
            )
        )

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        from wmx.components.exporters import metrics_bind_for
        from wmx.components.synapse import synapse_bind_for

        plan: WorkerPlan = views[self.name]
        bind = metrics_bind_for(views.site.topology, host)
        http_binds = tuple(synapse_bind_for(views.site.topology, host))
        return {
            "synapse_workers_instances": [
                {
                    "name": w.name,
                    "port": w.port,
                    "http": w.kind in RESOURCES,
                    "config": w.config(bind, http_binds),
                }
                for w in plan.workers
            ],
        }


COMPONENT = SynapseWorkers()
