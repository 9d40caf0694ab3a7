"""The annotated example sites in inventories/ load, and stay what `wmx init` writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wmx.components import components_of
from wmx.components.nginx import proxy_for
from wmx.components.postgresql import database_for
from wmx.resources import data_dir
from wmx.site import load_site
from wmx.site.init import InitAnswers, render_config_text
from wmx.site.secrets import Secrets, write_secrets


def _copy(example: str, tmp_path: Path) -> Path:
    target = tmp_path / example
    shutil.copytree(data_dir("inventories") / example, target)
    write_secrets(target / "secrets.yml", Secrets.generate())
    return target


def test_chapter_example_is_what_init_writes() -> None:
    config = (data_dir("inventories") / "chapter" / "wmx.yaml").read_text()
    answers = InitAnswers(
        server_name="example.org",
        homeserver_host="matrix.example.org",
        web_client_host="element.example.org",
        admin_email="matrix-admins@example.org",
        acme_email="matrix-admins@example.org",
    )
    assert config == render_config_text(answers), "regenerate inventories/chapter/wmx.yaml"


def test_chapter_runs_everything_on_one_host(tmp_path: Path) -> None:
    site = load_site(_copy("chapter", tmp_path))
    (host,) = site.topology.hosts
    core = ("base", "postgresql", "synapse", "nginx")
    components = components_of(site, host)
    assert tuple(c for c in components if c in core) == core
    assert {"exporters", "monitoring"} <= set(components)  # on by default
    assert database_for(site.topology, host).local
    assert proxy_for(site.topology, host).upstream == "127.0.0.1:8008"


@pytest.mark.parametrize(
    ("name", "components"),
    [
        ("db1", ("base", "postgresql", "exporters")),
        ("hs1", ("base", "synapse", "exporters")),
        ("proxy1", ("base", "nginx", "exporters")),
        ("mon1", ("base", "exporters", "monitoring")),
    ],
)
def test_sre_layout_splits_components(
    tmp_path: Path, name: str, components: tuple[str, ...]
) -> None:
    site = load_site(_copy("sre", tmp_path))
    host = next(h for h in site.topology.hosts if h.name == name)
    # Components of other issues (the IRC bridge, backups) may join; these must be right.
    ours = {"base", "postgresql", "synapse", "nginx", "exporters", "monitoring"}
    assert tuple(c for c in components_of(site, host) if c in ours) == components
    hs1 = site.topology.the("homeserver")
    db = database_for(site.topology, hs1)
    assert (db.local, db.host) == (False, "10.0.0.11")
    assert proxy_for(site.topology, site.topology.the("proxy")).upstream == "10.0.0.12:8008"
