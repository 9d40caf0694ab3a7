"""Changing a deployed test site's settings as an operator does (`wmx config set`), and
reading them back so that a test can put them back afterwards."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import Deployed, wmx
from wmx.site import load_config
from wmx.site.config_edit import get_value


def set_settings(site: Deployed, values: dict[str, Any]) -> None:
    """`wmx config set KEY VALUE` for each of ``values`` (JSON, so null and lists work)."""
    for key, value in values.items():
        wmx("config", "set", key, json.dumps(value), site=site.site.paths.root)


def current_settings(site: Deployed, keys: list[str]) -> dict[str, Any]:
    """The values ``keys`` have in the site's wmx.yaml now."""
    config = load_config(site.site.paths)
    return {key: get_value(config, key) for key in keys}
