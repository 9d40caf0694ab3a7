"""Rendering: the site model in, every file a host receives out (build/<host>/…)."""

from wmx.render.build_tree import FileChange, diff_trees, record_deployed, write_build
from wmx.render.engine import RenderedFile, render_host, render_site

__all__ = [
    "FileChange",
    "RenderedFile",
    "diff_trees",
    "record_deployed",
    "render_host",
    "render_site",
    "write_build",
]
