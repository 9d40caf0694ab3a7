"""The chat experience (issue 5): Element Web, calls through coturn, and what they add to
the proxy's names and to `/.well-known/matrix/client`.

Everything here is derived from the typed site (wmx.yaml, inventory, and for a local
Element archive the archive itself), so that the rendered files, vars.json and the
deploy agree by construction.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import tarfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wmx.errors import InputError
from wmx.site.model import (
    DEFAULT_ELEMENT_VERSION,
    ELEMENT_RELEASE_URL,
    NON_PUBLIC_RANGES,
    SiteConfig,
    TurnSettings,
)
from wmx.site.topology import TURN_PORT, TURNS_PORT, HostView, Topology

if TYPE_CHECKING:
    from wmx.site import Site

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
# coturn reads the site's certificate from its own copy (it runs as turnserver, and
# certbot's keys are root's only); certbot's deploy hook refreshes it.
COTURN_TLS_DIR = "/etc/coturn/tls"
CERT_NAME = "wmx"

_ARCHIVE_DIR = re.compile(r"^element-v(\d+\.\d+\.\d+[a-z0-9.-]*)$")


# --- Element Web ------------------------------------------------------------------------


@dataclass(frozen=True)
class ElementRelease:
    """The Element Web release to install, and where it comes from."""

    version: str
    sha256: str
    url: str | None  # downloaded on the host, or
    archive: Path | None  # copied from the operator's machine

    @property
    def name(self) -> str:
        """Its directory under ELEMENT_RELEASES_DIR: the version and the archive's
        checksum, so that a rebuilt archive of the same version is never mistaken for
        the installed one."""
        return f"{self.version}-{self.sha256[:12]}"


@dataclass(frozen=True)
class ArchiveFacts:
    version: str
    sha256: str


@lru_cache(maxsize=8)
def _archive_facts(path: str, size: int, mtime_ns: int) -> ArchiveFacts:
    """The version and SHA-256 of an Element release archive (cached per file state)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    tops: set[str] = set()
    has_index = False
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                parts = Path(member.name).parts
                if parts and parts[0] != ".":
                    tops.add(parts[0])
                if len(parts) == 2 and parts[1] == "index.html" and member.isfile():
                    has_index = True
    except (tarfile.TarError, OSError, EOFError) as error:
        raise InputError(f"element.archive {path}: not a .tar.gz archive ({error})") from None
    match = _ARCHIVE_DIR.match(next(iter(tops))) if len(tops) == 1 else None
    if match is None or not has_index:
        raise InputError(
            f"element.archive {path}: not an Element Web release archive; it must hold one "
            "directory element-v<version>/ with index.html in it, as the official "
            "element-v<version>.tar.gz does"
        )
    return ArchiveFacts(version=match.group(1), sha256=digest.hexdigest())


def element_release(config: SiteConfig, site_root: Path) -> ElementRelease:
    """What `element` in wmx.yaml asks for: the pinned release, another one with its
    checksum, or a local archive (whose version and checksum come from the file)."""
    settings = config.element
    if settings.archive is None:
        version = settings.version or DEFAULT_ELEMENT_VERSION
        sha256 = settings.pinned_sha256
        assert sha256 is not None  # the model insists on a checksum without an archive
        return ElementRelease(version, sha256, ELEMENT_RELEASE_URL.format(version=version), None)
    path = Path(settings.archive).expanduser()
    if not path.is_absolute():
        path = site_root / path
    if not path.is_file():
        raise InputError(f"element.archive {path}: no such file on this machine")
    stat = path.stat()
    facts = _archive_facts(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if settings.version is not None and settings.version != facts.version:
        raise InputError(
            f"element.archive {path} holds Element {facts.version}, but element.version "
            f"says {settings.version}"
        )
    if settings.sha256 is not None and settings.sha256 != facts.sha256:
        raise InputError(
            f"element.archive {path}: its SHA-256 is {facts.sha256}, but element.sha256 "
            f"says {settings.sha256}; the file is not the release you pinned (or it is "
            "damaged). Nothing was deployed; the running Element stays as it is"
        )
    return ElementRelease(facts.version, facts.sha256, None, path.resolve())


def element_host(topology: Topology) -> HostView | None:
    members = topology.in_group("element")
    return members[0] if members else None


def element_config(config: SiteConfig, topology: Topology) -> dict[str, Any]:
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
    host = element_host(site.topology)
    if host is None:
        return None
    return ElementView(
        host=host,
        release=element_release(site.config, site.paths.root),
        config=element_config(site.config, site.topology),
    )


# --- calls: coturn ----------------------------------------------------------------------


def _address_range(network: str) -> str:
    """coturn's notation for a network: first-last address."""
    net = ipaddress.ip_network(network)
    if net.num_addresses == 1:
        return str(net.network_address)
    return f"{net.network_address}-{net.broadcast_address}"


@dataclass(frozen=True)
class TurnView:
    """What templates/turn, Synapse's turn_uris and the firewall need (None: no TURN)."""

    host: HostView
    settings: TurnSettings
    name: str  # the public name in the URIs (and, with TLS, in the certificate)
    tls: bool
    realm: str

    @property
    def uris(self) -> list[str]:
        uris = [
            f"turn:{self.name}:{TURN_PORT}?transport=udp",
            f"turn:{self.name}:{TURN_PORT}?transport=tcp",
        ]
        if self.tls:
            uris.append(f"turns:{self.name}:{TURNS_PORT}?transport=tcp")
        return uris

    @property
    def relay_ports(self) -> tuple[int, int]:
        return (self.settings.relay_min_port, self.settings.relay_max_port)

    @property
    def denied_peer_ranges(self) -> list[str]:
        """Every non-public range: a relay must never reach into the host's networks."""
        return [_address_range(n) for n in NON_PUBLIC_RANGES]

    @property
    def allowed_peer_ips(self) -> list[str]:
        """The TURN host itself (client → TURN → TURN → client), as Synapse advises."""
        return [self.settings.external_ip or self.host.address]

    @property
    def cert_dir(self) -> str:
        return COTURN_TLS_DIR

    @property
    def certbot_live_dir(self) -> str:
        return f"/etc/letsencrypt/live/{CERT_NAME}"

    @property
    def port(self) -> int:
        return TURN_PORT

    @property
    def tls_port(self) -> int:
        return TURNS_PORT


def turn_view(config: SiteConfig, topology: Topology) -> TurnView | None:
    members = topology.in_group("turn")
    if not members:
        return None
    host = members[0]
    settings = config.turn
    on_proxy = "proxy" in host.groups
    if settings.tls and not on_proxy:
        raise InputError(
            f"turn.tls: coturn on {host.name} would need the site's certificate, which the "
            "proxy host keeps: put the proxy host in group 'turn', or set turn.tls: false "
            "(calls then use TURN over UDP and TCP on 3478 only)"
        )
    return TurnView(
        host=host,
        settings=settings,
        name=settings.host or config.homeserver.host,
        tls=settings.tls,
        realm=config.server_name,
    )


def firewall_turn_options(config: SiteConfig, topology: Topology) -> dict[str, Any]:
    """The keyword arguments of Topology.firewall_for() that TURN adds."""
    turn = turn_view(config, topology)
    if turn is None:
        return {}
    return {"turn_relay_ports": turn.relay_ports, "turn_tls": turn.tls}


# --- names and .well-known ----------------------------------------------------------------


def public_names(config: SiteConfig, topology: Topology) -> list[str]:
    """Every name the proxy answers for and its certificate covers."""
    turn = turn_view(config, topology)
    extra = (turn.name,) if turn is not None and turn.tls else ()
    return config.public_names(web_client=element_host(topology) is not None, extra=extra)


def client_well_known(config: SiteConfig) -> dict[str, Any]:
    """`/.well-known/matrix/client`: how any client finds this homeserver.

    TURN servers are not listed here: clients ask the homeserver for them, with
    short-lived credentials (`/voip/turnServer`).
    """
    document: dict[str, Any] = {"m.homeserver": {"base_url": f"https://{config.homeserver.host}"}}
    element = config.element
    if element.identity_server:
        document["m.identity_server"] = {"base_url": element.identity_server}
    if config.synapse.privacy.encryption_by_default == "off":
        # Element reads this: new private rooms and DMs start unencrypted.
        document["io.element.e2ee"] = {"default": False}
    if element.jitsi_domain:
        document["im.vector.riot.jitsi"] = {"preferredDomain": element.jitsi_domain}
    return document
