"""`wmx backup restore`: an archive back onto a freshly deployed homeserver host.

The deploy's own files stay as deployed (the restore skips them): which ones they are
comes from the render of the target host.
"""

from __future__ import annotations

from wmx.backup.progress import Steps
from wmx.backup.restore import (
    RestoreReport,
    data_host_of,
    repository_labels,
    restore_onto,
)
from wmx.render import render_host
from wmx.site import Site
from wmx.site.topology import HostView


def managed_paths(site: Site, host: HostView) -> list[str]:
    """Every path the deploy installs on `host`: a restore leaves them as deployed."""
    return [f.dest for f in render_host(site, host)]


def restore(
    site: Site, *, archive: str, to: str, repo: str | None, force: bool, steps: Steps
) -> RestoreReport:
    """`wmx backup restore ARCHIVE --to HOST`: restore, then compare with the archive."""
    target = data_host_of(site, to)
    labels = repository_labels(site, repo)
    return restore_onto(
        target,
        reader=target,
        labels=labels,
        archive=archive,
        force=force,
        steps=steps,
        start_timer=True,
        managed=managed_paths(site, target),
    )
