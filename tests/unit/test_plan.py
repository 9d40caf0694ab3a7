"""One plan per host, computed once and purely: views once per site, no input file read
while rendering, no crypto in templates, vars.json written as the plan says it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from wmx.components import COMPONENTS
from wmx.components.component import Component
from wmx.lab.element import write_standin_archive
from wmx.render import plan_site, render_site, write_build
from wmx.render.engine import jinja_environment
from wmx.render.plan import site_views
from wmx.resources import data_dir
from wmx.site import Site, SitePaths, load_site
from wmx.site.config_edit import set_value

ALL_GROUPS = ("database", "homeserver", "proxy", "monitoring", "irc_bridge", "element", "turn")


def _site(site_dir: Path, **settings: str) -> Site:
    """The `wmx init` site with every component on one host, Element from a local archive."""
    archive = write_standin_archive(site_dir / "archives")
    values = {"web_client.archive": str(archive), **settings}
    for key, value in values.items():
        set_value(SitePaths(site_dir), key, value, deployed=False)
    inventory = yaml.safe_load((site_dir / "inventory.yml").read_text())
    (host,) = inventory["all"]["hosts"]
    inventory["all"]["children"] = {g: {"hosts": {host: None}} for g in ALL_GROUPS}
    (site_dir / "inventory.yml").write_text(yaml.safe_dump(inventory))
    return load_site(site_dir)


def test_each_view_is_computed_once_per_site(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _site(site_dir)
    calls: list[str] = []
    for component in COMPONENTS:
        cls = type(component)
        view = cls.view

        def counted(self: Component, site: Site, _view: Any = view) -> Any:
            calls.append(self.name)
            return _view(self, site)

        monkeypatch.setattr(cls, "view", counted)
    plan_site(site)
    assert sorted(calls) == sorted(c.name for c in COMPONENTS)


def test_rendering_reads_no_input_file(site_dir: Path) -> None:
    """The Element archive is read when the site is loaded; the render does without it."""
    site = _site(site_dir)
    assert site.element_release is not None
    archive = site.element_release.archive
    assert archive is not None
    before = render_site(site)
    archive.unlink()
    assert render_site(site) == before


def test_templates_get_no_crypto_filter_and_web_yml_gets_its_hash(site_dir: Path) -> None:
    assert "bcrypt" not in jinja_environment(data_dir("templates")).filters
    site = _site(site_dir, **{"monitoring.remote_scrape.allow": "[192.0.2.7]"})
    view = site_views(site)["monitoring"]
    assert bcrypt.checkpw(
        site.secrets.prometheus_remote_password.encode(), view.remote_password_hash.encode()
    )
    (files,) = render_site(site).values()
    web = next(f for f in files if f.dest == "/etc/prometheus/web.yml")
    assert view.remote_password_hash in web.content
    assert "remote_password_hash" not in repr(view)


def test_vars_json_is_the_plans_and_shows_a_version_bump(site_dir: Path) -> None:
    site = _site(site_dir)
    plan = plan_site(site)
    build = write_build(site, plan)
    for name, host_plan in plan.hosts.items():
        written = (build / name / ".wmx" / "vars.json").read_text()
        assert written == host_plan.vars_json
        manifest = json.loads((build / name / ".wmx" / "manifest.json").read_text())
        assert manifest == host_plan.manifest
    # The same tree from render_site's files: identical bytes.
    again = write_build(site, render_site(site))
    (name,) = plan.hosts
    assert (again / name / ".wmx" / "vars.json").read_text() == plan.hosts[name].vars_json
    bumped = _site(site_dir, **{"synapse.version": "1.164.0"})
    after = plan_site(bumped).hosts[name]
    assert after.role_vars["synapse_version"] == "1.164.0"
    changed = {k for k, v in after.role_vars.items() if plan.hosts[name].role_vars.get(k) != v}
    assert changed == {"synapse_version", "synapse_venv"}
