"""Sites the render tests share: fixed secrets, the core config, the chapter's one host
and the SRE's three hosts (fixtures `one_host`, `three_hosts` in conftest.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from wmx.render import RenderedFile, render_site
from wmx.site import Site, SitePaths
from wmx.site.model import SiteConfig
from wmx.site.secrets import Secrets, write_secrets
from wmx.site.topology import HostView, Topology

# Fixed, recognisable secrets: golden files stay stable, and leak checks can look for them.
SECRETS = Secrets(**{f.name: f"test-{f.name.replace('_', '-')}-0000" for f in fields(Secrets)})

BASE_CONFIG: dict[str, Any] = {
    "server_name": "example.test",
    "homeserver": {"host": "matrix.example.test"},
    "web_client": {"host": "element.example-web.test"},
    "contacts": {"admin_email": "admin@example.test"},
    "acme": {"email": "acme@example.test", "directory": "https://acme.lab.test:14000/dir"},
}


def make_site(tmp_path: Path, config: Mapping[str, Any], hosts: list[HostView]) -> Site:
    root = tmp_path / "site"
    root.mkdir()
    write_secrets(root / "secrets.yml", SECRETS)
    return Site(
        paths=SitePaths(root),
        config=SiteConfig.model_validate(config),
        topology=Topology(hosts=tuple(hosts)),
    )


def one_host_site(tmp_path: Path) -> Site:
    host = HostView("hs1", "10.213.0.11", ("database", "homeserver", "proxy"), 2048)
    return make_site(tmp_path, BASE_CONFIG, [host])


def three_hosts_site(tmp_path: Path) -> Site:
    config = {
        **BASE_CONFIG,
        "homeserver": {"host": "matrix.example.test", "federation_port": 8448},
        "synapse": {"registration": "token", "url_previews": True, "max_upload_size_mb": 100},
    }
    hosts = [
        HostView("db1", "10.0.0.11", ("database",), 8192),
        HostView("hs1", "10.0.0.12", ("homeserver",), 4096),
        HostView("proxy1", "10.0.0.13", ("proxy",), 2048),
    ]
    return make_site(tmp_path, config, hosts)


def files_by_dest(site: Site, host: str) -> dict[str, RenderedFile]:
    return {f.dest: f for f in render_site(site)[host]}


def synapse_config(files: dict[str, RenderedFile]) -> dict[str, Any]:
    """What Synapse reads: homeserver.yaml, then conf.d/*.yaml, top-level keys replaced."""
    merged = dict(yaml.safe_load(files["/etc/matrix-synapse/homeserver.yaml"].content))
    merged.update(yaml.safe_load(files["/etc/matrix-synapse/conf.d/secrets.yaml"].content))
    return merged
