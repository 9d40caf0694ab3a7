"""Render every file a host receives from the templates, purely from the site model."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, UndefinedError
from ruamel.yaml import YAML

from wmx.backup.plan import backup_view, host_components
from wmx.errors import WmxError
from wmx.resources import data_dir
from wmx.site import Site
from wmx.site.chat import (
    client_well_known,
    element_view,
    firewall_turn_options,
    public_names,
    turn_view,
)
from wmx.site.irc import irc_bridge_view
from wmx.site.monitoring import bcrypt_hash, monitoring_view
from wmx.site.topology import METRICS_PORTS, HostView, PostgresTuning

META_FILE = "_meta.yml"
_DEFAULT_META: dict[str, Any] = {"mode": "0644", "owner": "root", "group": "root", "secret": False}


@dataclass(frozen=True)
class RenderedFile:
    component: str
    src: str  # path under build/<host>/, the target path without its leading slash
    mode: str
    owner: str
    group: str
    secret: bool
    content: str

    @property
    def dest(self) -> str:
        return "/" + self.src

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "src": self.src,
            "dest": self.dest,
            "mode": self.mode,
            "owner": self.owner,
            "group": self.group,
            "secret": self.secret,
            "sha256": self.sha256,
        }


def jinja_environment(root: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["to_json"] = _to_json
    # Prometheus' web.yml wants bcrypt hashes of passwords (deterministic: see there).
    env.filters["bcrypt"] = bcrypt_hash
    return env


def _to_json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _component_meta(component_dir: Path) -> dict[str, dict[str, Any]]:
    meta_path = component_dir / META_FILE
    if not meta_path.exists():
        return {}
    return dict(YAML(typ="safe").load(meta_path.read_text()) or {})


def template_context(site: Site, host: HostView) -> dict[str, Any]:
    topology = site.topology
    proxy_is_local = topology.the("proxy").name == host.name
    return {
        "site": site.config,
        "secrets": site.secrets,
        "host": host,
        "db": topology.database_for(host),
        "pg": PostgresTuning.for_memory(host.memory_mb, site.config.postgresql.max_connections),
        "proxy": topology.proxy_for(host),
        "synapse_bind": ["127.0.0.1"] if proxy_is_local else ["127.0.0.1", host.address],
        "firewall": topology.firewall_for(
            host,
            site.config.homeserver.federation_port,
            tuple(site.config.monitoring.remote_scrape.allow),
            **firewall_turn_options(site.config, topology),
        ),
        # The chat experience (issue 5): Element Web and coturn (None when off), every
        # name the proxy serves, and /.well-known/matrix/client.
        "element": element_view(site),
        "turn": turn_view(site.config, topology),
        "tls_names": public_names(site.config, topology),
        "well_known_client": client_well_known(site.config),
        # Where Synapse's metrics listener and the exporters listen (monitoring).
        "metrics_bind": topology.metrics_bind_for(host),
        "ports": METRICS_PORTS,
        "monitoring": monitoring_view(site.config, topology),
        # The IRC bridge (None when no host is in group irc_bridge).
        "irc": irc_bridge_view(site.config, topology),
        # Backups: repositories, what the job archives (disabled off the homeserver host).
        "backup": backup_view(site.config, topology, host),
    }


def render_host(site: Site, host: HostView, templates: Path | None = None) -> list[RenderedFile]:
    root = templates or data_dir("templates")
    env = jinja_environment(root)
    context = template_context(site, host)
    files: list[RenderedFile] = []
    for component in host_components(site, host):
        component_dir = root / component
        if not component_dir.is_dir():
            continue
        meta = _component_meta(component_dir)
        for path in sorted(component_dir.rglob("*.j2")):
            src = path.relative_to(component_dir).as_posix().removesuffix(".j2")
            settings = {**_DEFAULT_META, **meta.get(src, {})}
            # `groups:` in _meta.yml: the file lands only on hosts in one of them (a
            # component whose files differ by host, such as the exporters).
            only = settings.pop("groups", None)
            if only and not set(only) & set(host.groups):
                continue
            template_name = path.relative_to(root).as_posix()
            try:
                content = env.get_template(template_name).render(context)
            except UndefinedError as exc:
                raise WmxError(f"template {template_name}: {exc.message}") from None
            files.append(
                RenderedFile(
                    component=component,
                    src=src,
                    mode=str(settings["mode"]),
                    owner=str(settings["owner"]),
                    group=str(settings["group"]),
                    secret=bool(settings["secret"]),
                    content=content,
                )
            )
    return files


def render_site(site: Site, templates: Path | None = None) -> dict[str, list[RenderedFile]]:
    """host name → every file it receives, in a stable order."""
    return {host.name: render_host(site, host, templates) for host in site.topology.hosts}
