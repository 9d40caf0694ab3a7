"""backup: the borg backup job of the homeserver host, on when wmx.yaml says
backup.enabled: what it backs up, where to, and how.

Computed from the typed site (wmx.yaml + inventory) only, so that `wmx render` stays pure:
the job on the host reads the same values from `/etc/wmx/backup/job.json`. Whether a
site has a repository at all is checked when it is loaded (wmx.site.checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, Service, SiteViews, Step
from wmx.components.postgresql import DATABASE_CA_FILE, POSTGRES_PORT, database_for
from wmx.site.borg import repository_host
from wmx.site.grammars import host_port, pgpass_field, url_host

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.model import SiteConfig
    from wmx.site.topology import HostView, Topology

# Paths on the data host. The synapse role and templates use the same ones.
CONFIG_DIR = "/etc/wmx/backup"
JOB_CONFIG = f"{CONFIG_DIR}/job.json"
PASSPHRASE_FILE = f"{CONFIG_DIR}/passphrase"
BORG_ENV_FILE = f"{CONFIG_DIR}/borg.env"
PGPASS_FILE = f"{CONFIG_DIR}/pgpass"
TOOL = "/usr/local/sbin/wmx-backup"
STATE_DIR = "/var/lib/wmx/backup"
SSH_KEY = f"{STATE_DIR}/ssh/id_ed25519"
KNOWN_HOSTS = f"{STATE_DIR}/ssh/known_hosts"
BORG_BASE_DIR = f"{STATE_DIR}/borg"
STATUS_FILE = f"{STATE_DIR}/status.json"
BACKUP_ROOT = "/var/backups/wmx"
LOCAL_REPOSITORY = f"{BACKUP_ROOT}/borg"
STAGING_DIR = f"{BACKUP_ROOT}/staging"
RESTORE_DIR = f"{BACKUP_ROOT}/restore"
METRICS_FILE = "/var/lib/prometheus/node-exporter/wmx_backup.prom"
MEDIA_STORE = "/var/lib/synapse/media_store"
SIGNING_KEY = "/var/lib/synapse/signing.key"
SYNAPSE_CONFIG_DIR = "/etc/matrix-synapse"
# On a host of the `backup` group: the system user borg serves repositories as, and
# one repository per site below its home.
REPO_USER = "borg"
REPO_HOME = "/srv/wmx-backup"
ARCHIVE_PREFIX = "wmx-"
# How many of the rooms with the most members the drill compares (latest event ids).
LARGEST_ROOMS = 5

LOCAL_MEDIA = ("local_content", "local_thumbnails")
REMOTE_MEDIA = ("remote_content", "remote_thumbnail")


@dataclass(frozen=True)
class Repository:
    """One borg repository of the site, named by a short label in commands."""

    label: str  # "local", the repository host's inventory name, or the remote's host
    url: str
    kind: str  # local | inventory | extra
    host: str | None = None  # inventory host name (kind "inventory")

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "url": self.url, "kind": self.kind, "host": self.host}


@dataclass(frozen=True)
class DumpSource:
    """Where the job's pg_dump connects: the local socket as postgres, or TCP as synapse."""

    local: bool
    name: str = "synapse"
    user: str = "synapse"
    host: str = "/var/run/postgresql"
    port: int = POSTGRES_PORT

    @property
    def pgpass_host(self) -> str:
        """The host as .pgpass's first field (an IPv6 address's colons escaped)."""
        return pgpass_field(self.host)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"local": self.local, "name": self.name, "port": self.port}
        if not self.local:
            data.update({"host": self.host, "user": self.user, "passfile": PGPASS_FILE})
            # Over TLS that libpq verifies against the site's database CA (docs/database.md).
            data.update({"sslmode": "verify-full", "sslrootcert": DATABASE_CA_FILE})
        return data


@dataclass(frozen=True)
class BackupView:
    """What templates (`backup` in their context) and vars.json say about backups."""

    enabled: bool
    server_name: str
    schedule: str
    retention: dict[str, int]
    repositories: tuple[Repository, ...] = ()
    database: DumpSource = DumpSource(local=True)
    # Absolute paths the job archives (besides its staging directory); absent ones are
    # skipped and listed as such.
    paths: tuple[str, ...] = ()
    media_dirs: tuple[str, ...] = ()
    # Paths a restore puts back in place (data); the rest stays in the restore directory
    # for reference (configuration comes from the site: `wmx deploy`).
    restore_in_place: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    # Inventory hosts of the `backup` group this host pushes to (pinned host keys).
    repository_hosts: tuple[HostView, ...] = field(default=(), compare=False)

    def job_config(self) -> dict[str, Any]:
        """The contents of /etc/wmx/backup/job.json (no secret in it)."""
        return {
            "server_name": self.server_name,
            "archive_prefix": ARCHIVE_PREFIX,
            "schedule": self.schedule,
            "retention": self.retention,
            "repositories": [r.as_json() for r in self.repositories],
            "database": self.database.as_json(),
            "paths": list(self.paths),
            "media_store": MEDIA_STORE,
            "media_dirs": list(self.media_dirs),
            "restore_in_place": list(self.restore_in_place),
            "services": list(self.services),
            "signing_key": SIGNING_KEY,
            "staging_dir": STAGING_DIR,
            "restore_dir": RESTORE_DIR,
            "state_dir": STATE_DIR,
            "status_file": STATUS_FILE,
            "metrics_file": METRICS_FILE,
            "largest_rooms": LARGEST_ROOMS,
            "compression": "zstd,3",
        }


def backs_up(config: SiteConfig, host: HostView) -> bool:
    """The homeserver host runs the backup job when wmx.yaml turns backups on."""
    return config.backup.enabled and "homeserver" in host.groups


def ssh_port(host: HostView) -> int:
    """The repository host's sshd port: ansible_port, the one sshd that Ansible reaches
    too (a port forwarded to it elsewhere is not told apart)."""
    port = host.vars.get("ansible_port")
    return int(str(port)) if port else 22


def repository_url(host: HostView, server_name: str) -> str:
    # borg's SSH runs on the homeserver host, not on the operator's machine: it goes to
    # the internal address, where the site's hosts reach one another (ansible_host may
    # be a bastion's forward or a name only the operator's machine resolves).
    port = ssh_port(host)
    address = host.internal_address
    netloc = host_port(address, port) if port != 22 else url_host(address)
    return f"ssh://{REPO_USER}@{netloc}{REPO_HOME}/{server_name}"


def _extra_label(url: str, taken: set[str]) -> str:
    host = repository_host(url)
    label, n = host, 2
    while label in taken:
        label, n = f"{host}-{n}", n + 1
    return label


def repositories(config: SiteConfig, topology: Topology) -> tuple[Repository, ...]:
    """Every repository of the site: remote ones first (they survive the host)."""
    found: list[Repository] = []
    for repo_host in topology.in_group("backup"):
        found.append(
            Repository(
                label=repo_host.name,
                url=repository_url(repo_host, config.server_name),
                kind="inventory",
                host=repo_host.name,
            )
        )
    taken = {r.label for r in found} | {"local"}
    for url in config.backup.repositories:
        label = _extra_label(url, taken)
        taken.add(label)
        found.append(Repository(label=label, url=url, kind="extra"))
    if config.backup.local_repository:
        found.append(Repository(label="local", url=LOCAL_REPOSITORY, kind="local"))
    return tuple(found)


def backup_view(config: SiteConfig, topology: Topology, host: HostView) -> BackupView:
    """The backup view of `host` (disabled unless it is the backed-up homeserver host)."""
    retention = config.backup.retention.model_dump()
    if not backs_up(config, host):
        return BackupView(
            enabled=False,
            server_name=config.server_name,
            schedule=config.backup.schedule,
            retention=retention,
        )
    repos = repositories(config, topology)
    db = database_for(topology, host) if topology.in_group("database") else None
    source = (
        DumpSource(local=True)
        if db is None or db.local
        else DumpSource(local=False, host=db.host, port=db.port, name=db.name, user=db.user)
    )
    media = LOCAL_MEDIA + (REMOTE_MEDIA if config.backup.include_remote_media else ())
    media_dirs = tuple(f"{MEDIA_STORE}/{d}" for d in media)
    paths: list[str] = [SIGNING_KEY, *media_dirs, SYNAPSE_CONFIG_DIR]
    in_place: list[str] = [SIGNING_KEY, *media_dirs, SYNAPSE_CONFIG_DIR]
    services = ["matrix-synapse.service"]
    if "proxy" in host.groups:
        # nginx and TLS: kept for reference (the deploy renders them; certbot renews).
        paths += ["/etc/nginx", "/etc/letsencrypt"]
    bridge = topology.in_group("irc_bridge")
    if bridge and bridge[0].name == host.name:
        paths += ["/etc/heisenbridge", "/var/lib/heisenbridge"]
        in_place += ["/var/lib/heisenbridge"]
        services.insert(0, "heisenbridge.service")
    return BackupView(
        enabled=True,
        server_name=config.server_name,
        schedule=config.backup.schedule,
        retention=retention,
        repositories=repos,
        database=source,
        paths=tuple(paths),
        media_dirs=media_dirs,
        restore_in_place=tuple(in_place),
        services=tuple(services),
        repository_hosts=tuple(topology.in_group("backup")),
    )


class Backup(Component):
    name = "backup"
    settings_sections = ("backup",)
    # Runs on the homeserver host by wmx.yaml (backup.enabled), not by a group of its own.
    services = (
        # The timer is what runs: the job's own unit is idle between backups.
        Service("backup", "wmx-backup.timer", "borgbackup"),
    )

    def runs_on(self, site: Site, host: HostView) -> bool:
        return backs_up(site.config, host)

    def removed_from(self, site: Site, host: HostView) -> bool:
        # A homeserver host whose site switched backups off.
        return "homeserver" in host.groups

    def steps(self) -> tuple[Step, ...]:
        # The job and the host's new SSH key first, so that the repository hosts can
        # authorize the key; then, once they have, the repositories and the timer.
        return (Step(self.name, before="backup_repo"), Step(self.name, "repositories"))

    def host_view(self, views: SiteViews, host: HostView) -> BackupView:
        return backup_view(views.site.config, views.site.topology, host)

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {"backup": views.of_host(self, host)}

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        view: BackupView = views.of_host(self, host)
        return {
            "backup_schedule": view.schedule,
            "backup_repositories": [r.as_json() for r in view.repositories],
            "backup_repository_hosts": [
                {
                    "name": h.name,
                    "address": h.internal_address,
                    "port": ssh_port(h),
                    # How known_hosts names it (a port other than 22 in brackets): as
                    # the repository's URL does, by its internal address.
                    "known_hosts_name": h.internal_address
                    if ssh_port(h) == 22
                    else f"[{h.internal_address}]:{ssh_port(h)}",
                }
                for h in view.repository_hosts
            ],
            "backup_database_local": view.database.local,
            "backup_ssh_key": SSH_KEY,
            "backup_known_hosts": KNOWN_HOSTS,
            "backup_tool": TOOL,
        }


COMPONENT = Backup()
