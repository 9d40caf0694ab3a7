"""Throwaway Debian 13 (or 12) hosts on this machine that wmx deploys to over SSH, as to a VPS.

See docs/lab.md. Typical use (as root)::

    lab = Lab()
    hosts = lab.up(2)
    lab.set_names({"example.test": "lab1", "matrix.example.test": "lab1"})
    lab.run("lab1", ["systemctl", "is-system-running"], check=False)
    lab.down()
"""

from wmx.lab.addressing import LabHost
from wmx.lab.errors import NOT_ROOT_MESSAGE, LabError
from wmx.lab.lab import Lab
from wmx.lab.paths import DEFAULT_CACHE_DIR, DEFAULT_STATE_DIR

__all__ = [
    "DEFAULT_CACHE_DIR",
    "DEFAULT_STATE_DIR",
    "NOT_ROOT_MESSAGE",
    "Lab",
    "LabError",
    "LabHost",
]
