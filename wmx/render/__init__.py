"""Rendering: the site in, one plan per host out (its files, manifest, role vars and
role steps), written to build/<host>/…"""

from wmx.render.build_tree import FileChange, diff_trees, record_deployed, write_build
from wmx.render.engine import RenderedFile
from wmx.render.plan import HostPlan, SitePlan, plan_site, render_host, render_site

__all__ = [
    "FileChange",
    "HostPlan",
    "RenderedFile",
    "SitePlan",
    "diff_trees",
    "plan_site",
    "record_deployed",
    "render_host",
    "render_site",
    "write_build",
]
