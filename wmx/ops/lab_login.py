"""Point a site's Wikimedia login at the lab's Meta stand-in (`wmx lab up --site`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wmx.lab import meta
from wmx.site import SitePaths
from wmx.site.config_edit import set_value
from wmx.site.model import SiteConfig
from wmx.site.secrets import load_secrets, store_secret

if TYPE_CHECKING:
    from wmx.lab import Lab

LAB_SCRIPT_PATH = "/w"


def attach_login(paths: SitePaths, config: SiteConfig, lab: Lab) -> None:
    """With `login:` on, the site logs in with the lab's Meta (meta.lab.test): its base
    URL and script path, and the lab consumer's key (wmx.yaml) and secret (secrets.yml).
    A site without `login:` is left as it is (passwords)."""
    if not config.login.enabled:
        return
    consumer = meta.consumer(lab.meta)
    wanted = {
        "login.wiki_url": lab.meta.url,
        "login.script_path": LAB_SCRIPT_PATH,
        "login.consumer_key": consumer.client_id,
    }
    current = config.login.model_dump(mode="json")
    for key, value in wanted.items():
        if current[key.removeprefix("login.")] != value:
            set_value(paths, key, f"'{value}'", deployed=False)
    if load_secrets(paths.secrets).login_client_secret != consumer.client_secret:
        store_secret(paths.secrets, "login_client_secret", consumer.client_secret)
