"""Programs that run on the hosts: the backup job and the status probe.

Standard library only (plus, imported where they are used, the Debian packages the
backup role installs: python3-psycopg2, python3-cryptography), and nothing from wmx:
the hosts run Debian's python3 and nothing else of ours. Every import inside the
package is relative, because on a host it is called `wmx_agent` (the backup role copies
it verbatim to /usr/local/lib/wmx-agent/wmx_agent/), while here it is `wmx.agent`.

- `backup/`: `wmx-backup`, the backup job and the host's side of restores and drills;
  /usr/local/sbin/wmx-backup runs `wmx_agent.backup.cli.main`.
- `probe.py`: what `wmx status` runs on every host (sent over SSH to `python3 -`).
"""

from __future__ import annotations

from pathlib import Path

HOST_NAME = "wmx_agent"  # the package's name on the hosts


def sources() -> dict[str, str]:
    """Each module of this package (path relative to it → text), in a stable order: what
    the build tree carries, byte for byte, to be copied to the hosts."""
    root = Path(__file__).resolve().parent
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
