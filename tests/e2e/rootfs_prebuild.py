"""Build the lab's Debian trees before the e2e tiers need them.

`Lab.up` builds a release's rootfs (debootstrap, then security updates and locales: one
to two minutes each) when it first creates a host of that release; on a machine without
the cache, as CI's, the e2e tiers would wait for it. scripts/test runs this in the
background for the e2e tier's release while the unit tier runs, and for the other
release beside the e2e tier, and waits for each before the tier that needs it:

    python -m tests.e2e.rootfs_prebuild trixie

Releases are built one after another (the cache's build lock serialises builds anyway);
a cache that is current is left as it is. One line per release; exit status 1 when a
build failed or could not start: the e2e tier then tries again and fails with the cause.
WMX_LAB_CACHE_DIR points it at another cache directory, as for tests/e2e/test_lab.py.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from wmx.errors import WmxError
from wmx.lab import DEFAULT_CACHE_DIR, Lab, LabError, commands, rootfs


def prebuild(releases: list[str], lab: Lab) -> int:
    status = 0
    for release in releases:
        start = time.monotonic()

        def say(line: str, release: str = release) -> None:
            print(f"rootfs {release}: {line}", flush=True)

        try:
            lab.require_root()
            missing = commands.missing_tools()
            if missing:
                raise LabError("missing tools: " + ", ".join(missing))
            rootfs.ensure_rootfs(lab.paths, say, release)
        except WmxError as error:  # LabError, or a release wmx does not know
            say(f"not built ({error})")
            status = 1
            continue
        say(f"ready after {time.monotonic() - start:.0f} s")
    return status


def main(argv: list[str]) -> int:
    cache = Path(os.environ.get("WMX_LAB_CACHE_DIR", DEFAULT_CACHE_DIR))
    return prebuild(argv, Lab(cache_dir=cache))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
