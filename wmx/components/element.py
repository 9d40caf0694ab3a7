"""element: Element Web (the `element` group, on the proxy host), and its config.json.

The release comes from `Site.element_release`, resolved when the site was loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, SiteViews
from wmx.site.element_release import ElementRelease

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.model import SiteConfig
    from wmx.site.topology import HostView

# Where the element role keeps Element Web: one directory per release, a `current` link
# nginx serves and a `previous` link to the release before it (rollback).
ELEMENT_DIR = "/opt/element"
ELEMENT_RELEASES_DIR = f"{ELEMENT_DIR}/releases"
ELEMENT_CURRENT_LINK = f"{ELEMENT_DIR}/current"
ELEMENT_PREVIOUS_LINK = f"{ELEMENT_DIR}/previous"
# The rendered config.json lives outside the release directories, so that switching
# releases never needs it copied again; nginx serves it at /config.json.
ELEMENT_CONFIG = "/etc/wmx/element/config.json"
# Archives wait here between download (or copy) and unpacking.
ELEMENT_DOWNLOAD_DIR = "/var/cache/wmx/element"


def element_config(config: SiteConfig) -> dict[str, Any]:
    """Element's config.json: this server, and the settings wmx.yaml makes deliberate."""
    settings, synapse = config.element, config.synapse
    homeserver_url = f"https://{config.homeserver.host}"
    server_config: dict[str, Any] = {
        "m.homeserver": {"base_url": homeserver_url, "server_name": config.server_name}
    }
    if settings.identity_server:
        server_config["m.identity_server"] = {"base_url": settings.identity_server}
    result: dict[str, Any] = {
        "default_server_config": server_config,
        "brand": settings.brand,
        "default_theme": settings.default_theme,
        "disable_custom_urls": False,
        "disable_guests": not synapse.guest_access,
        "disable_3pid_login": not synapse.email.configured,
        "show_labs_settings": False,
        "room_directory": {
            "servers": settings.room_directory_servers or [config.server_name],
        },
        # Homeserver-only rooms by default (m.federate) when the site says so, and
        # always when the server does not federate.
        "default_federate": synapse.privacy.new_rooms_federate and config.homeserver.federation,
        # Element shows presence only where the server keeps it.
        "enable_presence_by_hs_url": {homeserver_url: synapse.presence},
        "setting_defaults": {
            "UIFeature.registration": synapse.registration != "closed",
            "UIFeature.passwordReset": synapse.email.configured,
            "urlPreviewsEnabled": synapse.url_previews.enabled,
        },
    }
    if not settings.integrations:
        # Empty values switch Element's built-in integration manager (scalar.vector.im) off.
        result.update(
            {
                "integrations_ui_url": "",
                "integrations_rest_url": "",
                "integrations_widgets_urls": [],
            }
        )
    if settings.jitsi_domain:
        result["jitsi"] = {"preferred_domain": settings.jitsi_domain}
    if settings.element_call_url:
        result["element_call"] = {"url": settings.element_call_url}
    return result


@dataclass(frozen=True)
class ElementView:
    """What templates/element and the nginx template need (None: Element is off)."""

    host: HostView
    release: ElementRelease
    config: dict[str, Any]
    config_path: str = ELEMENT_CONFIG
    current_link: str = ELEMENT_CURRENT_LINK


def element_view(site: Site) -> ElementView | None:
    host = site.topology.first_in("element")
    if host is None or site.element_release is None:
        return None
    return ElementView(host=host, release=site.element_release, config=element_config(site.config))


class Element(Component):
    name = "element"
    settings_sections = ("element",)
    groups = ("element",)
    # Element Web has no service of its own: nginx serves it.

    def removed_from(self, site: Site, host: HostView) -> bool:
        return True

    def view(self, site: Site) -> ElementView | None:
        return element_view(site)

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {"element": views["element"]}

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        release = views["element"].release
        return {
            "element_version": release.version,
            "element_release": release.name,
            "element_sha256": release.sha256,
            # Downloaded on the host, or copied from the operator's machine.
            "element_url": release.url or "",
            "element_archive": str(release.archive or ""),
            "element_releases_dir": ELEMENT_RELEASES_DIR,
            "element_current_link": ELEMENT_CURRENT_LINK,
            "element_previous_link": ELEMENT_PREVIOUS_LINK,
            "element_download_dir": ELEMENT_DOWNLOAD_DIR,
        }


COMPONENT = Element()
