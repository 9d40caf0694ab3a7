"""Where wmx finds its templates, playbooks and example inventories.

A source checkout keeps them at the top level, where operators read them; the wheel
carries them as package data under ``wmx/_data``. This is the one place that knows.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the directory ``name`` (templates, playbooks, inventories)."""
    packaged = _PACKAGE / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"wmx data directory {name!r} is missing from this installation")
