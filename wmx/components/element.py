"""element: the web client (the `element` group, on the proxy host), Element Web or Cinny
(`web_client.kind`), its config.json and the headers nginx sends with it.

The release comes from `Site.element_release`, resolved when the site was loaded. Both
clients live in the same releases directory, so switching from one to the other is a
release switch like any other, with the same rollback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, SiteViews
from wmx.site.element_release import WebClientRelease

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.model import SiteConfig
    from wmx.site.topology import HostView

# Where the element role keeps the web client: one directory per release, a `current` link
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
        # This homeserver only, unless the site offers others.
        "disable_custom_urls": not config.web_client.allow_other_homeservers,
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


def cinny_config(config: SiteConfig) -> dict[str, Any]:
    """Cinny's config.json: this homeserver as the default (and, unless the site allows
    others, the only) one, and the rooms the site features."""
    settings = config.web_client
    return {
        "defaultHomeserver": 0,
        "homeserverList": [config.server_name],
        "allowCustomHomeservers": settings.allow_other_homeservers,
        "featuredCommunities": {
            "openAsDefault": False,
            "spaces": [],
            "rooms": list(settings.featured_rooms),
            "servers": [config.server_name],
        },
        # Real paths (/home/…, /login): nginx serves index.html for every other path.
        "hashRouter": {"enabled": False, "basename": "/"},
    }


def content_security_policy(config: SiteConfig, release: WebClientRelease) -> str:
    """The Content-Security-Policy sent with the client.

    Element: framing only (what Element's documentation asks for). Cinny: everything
    from its own origin, scripts by hash for its one inline script, WebAssembly compiled
    for its end-to-end encryption (olm.wasm: 'wasm-unsafe-eval', not 'unsafe-eval'), and
    requests only to this homeserver and the server name's `.well-known` (any https://
    server when the site allows other homeservers).
    """
    if release.kind == "element":
        return "frame-ancestors 'self'"
    anywhere = ["https:"] if config.web_client.allow_other_homeservers else []
    homeserver = f"https://{config.homeserver.host}"
    servers = list(dict.fromkeys([homeserver, f"https://{config.server_name}", *anywhere]))
    media = list(dict.fromkeys([homeserver, *anywhere]))
    scripts = ["'self'", "'wasm-unsafe-eval'", *(f"'{h}'" for h in release.inline_scripts)]
    directives = {
        "default-src": ["'self'"],
        "script-src": scripts,
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *media],
        "media-src": ["'self'", "blob:", *media],
        "connect-src": ["'self'", *servers],
        "font-src": ["'self'", "data:"],
        "worker-src": ["'self'", "blob:"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


@dataclass(frozen=True)
class ElementView:
    """What templates/element and the nginx template need (None: no web client)."""

    host: HostView
    release: WebClientRelease
    config: dict[str, Any]
    csp: str
    config_path: str = ELEMENT_CONFIG
    current_link: str = ELEMENT_CURRENT_LINK

    @property
    def kind(self) -> str:
        return self.release.kind


def element_view(site: Site) -> ElementView | None:
    host = site.topology.first_in("element")
    release = site.element_release
    if host is None or release is None:
        return None
    config = cinny_config(site.config) if release.kind == "cinny" else element_config(site.config)
    return ElementView(
        host=host,
        release=release,
        config=config,
        csp=content_security_policy(site.config, release),
    )


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
            "element_client": release.client_name,
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
