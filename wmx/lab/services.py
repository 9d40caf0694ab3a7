"""The lab's services on the machine beside pebble: the IRC network (ngircd,
irc.lab.test, wmx/lab/ircd.py) and Meta-Wiki's stand-in (meta.lab.test, wmx/lab/meta.py).

Deploying needs neither: one that cannot start is reported, and the lab goes on without
it (the tests that need it fail by name).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from wmx.lab import ircd, meta
from wmx.lab.errors import LabError
from wmx.lab.paths import LabPaths

log = logging.getLogger(__name__)


def ensure_running(paths: LabPaths, progress: Callable[[str], None]) -> None:
    if not ircd.available():
        progress("ngircd is not installed: the lab has no IRC server")
    else:
        try:
            ircd.ensure_running(ircd.lab_config(paths), paths.ca_key, paths.ca_cert)
        except LabError as error:
            log.warning("the lab's IRC server did not start: %s", error)
    try:
        meta.ensure_running(meta.lab_config(paths), paths.ca_key, paths.ca_cert)
    except LabError as error:
        log.warning("the lab's Meta stand-in did not start: %s", error)


def stop(paths: LabPaths) -> None:
    ircd.stop(ircd.lab_config(paths))
    meta.stop(meta.lab_config(paths))
