"""The chat experience (issue 5) as settings: each one renders into Synapse's, Element's,
coturn's and nginx's files as intended, and invalid combinations are refused with a
message that says what to do.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from wmx.lab.element import write_standin_archive
from wmx.render import RenderedFile, render_site
from wmx.site import Site, SitePaths
from wmx.site.config_edit import set_value
from wmx.site.model import (
    NON_PUBLIC_RANGES,
    SiteConfig,
    duration_ms,
)
from wmx.site.secrets import Secrets, write_secrets
from wmx.site.topology import HostView, Topology

SECRETS = Secrets(**{f.name: f"test-{f.name.replace('_', '-')}-0000" for f in fields(Secrets)})

BASE: dict[str, Any] = {
    "server_name": "example.test",
    "homeserver": {"host": "matrix.example.test"},
    "web_client": {"host": "element.example-web.test"},
    "contacts": {"admin_email": "admin@example.test"},
    "acme": {"email": "acme@example.test"},
}
CHAPTER_GROUPS = ("database", "homeserver", "proxy", "element", "turn")
SMTP = {"smtp_host": "smtp.example.test", "smtp_user": "matrix", "notif_from": "m@example.test"}


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _config(**extra: Any) -> SiteConfig:
    return SiteConfig.model_validate(_merge(BASE, extra))


def _site(tmp_path: Path, hosts: list[HostView] | None = None, **extra: Any) -> Site:
    root = tmp_path / "site"
    root.mkdir(exist_ok=True)
    write_secrets(root / "secrets.yml", SECRETS)
    archive = write_standin_archive(root / "archives")
    extra = _merge({"web_client": {"archive": str(archive)}}, extra)
    hosts = hosts or [HostView("hs1", "10.0.0.11", CHAPTER_GROUPS)]
    return Site(paths=SitePaths(root), config=_config(**extra), topology=Topology(tuple(hosts)))


def _files(site: Site, host: str = "hs1") -> dict[str, RenderedFile]:
    return {f.dest: f for f in render_site(site)[host]}


def _synapse(files: dict[str, RenderedFile]) -> dict[str, Any]:
    merged = dict(yaml.safe_load(files["/etc/matrix-synapse/homeserver.yaml"].content))
    merged.update(yaml.safe_load(files["/etc/matrix-synapse/conf.d/secrets.yaml"].content))
    return merged


def _refused(message: str, **extra: Any) -> None:
    with pytest.raises(ValidationError) as info:
        _config(**extra)
    assert message in " ".join(str(info.value).split())


# --- defaults -------------------------------------------------------------------------------


def test_defaults_are_the_safe_ones(tmp_path: Path) -> None:
    config = _synapse(_files(_site(tmp_path)))
    assert config["url_preview_enabled"] is False
    assert "url_preview_ip_range_whitelist" not in config
    assert config["enable_registration"] is False
    assert config["allow_guest_access"] is False
    assert config["retention"] == {"enabled": False}
    assert config["user_ips_max_age"] == "28d"
    assert config["redaction_retention_period"] == "7d"
    assert config["encryption_enabled_by_default_for_room_type"] == "invite"
    assert config["room_list_publication_rules"] == [
        {"user_id": "@wmx-admin:example.test", "action": "allow"},
        {"action": "deny"},
    ]
    assert config["allow_public_rooms_over_federation"] is False
    assert config["allow_public_rooms_without_auth"] is False
    assert config["user_directory"] == {"search_all_users": False}
    assert config["push"] == {"include_content": False}
    assert config["media_retention"] == {"remote_media_lifetime": "90d"}
    assert config["presence"] == {"enabled": True}
    assert config["enable_search"] is True
    assert "email" not in config
    # No mail to prove an address with: clients are told not to offer adding one.
    assert config["enable_3pid_changes"] is False


# --- link previews ----------------------------------------------------------------------------


def _covers_every_non_public_range(blacklist: list[str]) -> None:
    networks = [ipaddress.ip_network(n) for n in blacklist]
    for wanted in map(ipaddress.ip_network, NON_PUBLIC_RANGES):
        assert any(
            wanted.version == n.version and wanted.subnet_of(n)  # type: ignore[arg-type]
            for n in networks
        ), wanted


def test_previews_when_on_block_every_private_range_and_allow_only_what_is_named(
    tmp_path: Path,
) -> None:
    site = _site(
        tmp_path,
        synapse={"url_previews": {"enabled": True, "allow_ranges": ["10.213.0.12"]}},
    )
    config = _synapse(_files(site))
    assert config["url_preview_enabled"] is True
    _covers_every_non_public_range(config["url_preview_ip_range_blacklist"])
    assert config["url_preview_ip_range_whitelist"] == ["10.213.0.12/32"]
    assert config["max_spider_size"] == "10M"
    element = json.loads(_files(site)["/etc/wmx/element/config.json"].content)
    assert element["setting_defaults"]["urlPreviewsEnabled"] is True


def test_previews_accept_the_short_form_of_older_files() -> None:
    assert _config(synapse={"url_previews": True}).synapse.url_previews.enabled is True


def test_previews_on_with_an_empty_or_partial_blacklist_are_refused() -> None:
    empty = {"url_previews": {"enabled": True, "ip_range_blacklist": []}}
    _refused("must cover every private, loopback and otherwise non-public range", synapse=empty)
    partial = {"url_previews": {"enabled": True, "ip_range_blacklist": ["10.0.0.0/8"]}}
    _refused("missing: 0.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8", synapse=partial)
    # A broader list that still covers everything is the operator's right.
    broad = {"url_previews": {"enabled": True, "ip_range_blacklist": ["0.0.0.0/0", "::/0"]}}
    assert _config(synapse=broad).synapse.url_previews.blacklist == ["0.0.0.0/0", "::/0"]


@pytest.mark.parametrize("network", ["127.0.0.1", "169.254.169.254/32", "::1", "0.0.0.0/0"])
def test_previews_may_never_be_allowed_to_loopback_or_metadata(network: str) -> None:
    _refused(
        "includes loopback or link-local addresses",
        synapse={"url_previews": {"enabled": True, "allow_ranges": [network]}},
    )


# --- media, retention, privacy, search, guests ------------------------------------------------


def test_media_retention_and_privacy_settings_render(tmp_path: Path) -> None:
    site = _site(
        tmp_path,
        synapse={
            "search": False,
            "guest_access": True,
            "presence": False,
            "media": {
                "local_lifetime": "1y",
                "remote_lifetime": None,
                "dynamic_thumbnails": True,
                "max_image_pixels_m": 16,
            },
            "retention": {
                "enabled": True,
                "default_max_lifetime": "180d",
                "allowed_min_lifetime": "1h",
                "allowed_max_lifetime": "1y",
                "purge_interval": "6h",
            },
            "privacy": {
                "user_ips_max_age": None,
                "redaction_retention_period": "1d",
                "encryption_by_default": "all",
                "room_directory_publishers": ["@*:example.test"],
                "public_room_directory": True,
                "user_directory_search_all": True,
                "push_include_content": True,
                "new_rooms_federate": False,
            },
        },
    )
    files = _files(site)
    config = _synapse(files)
    assert config["enable_search"] is False
    assert config["allow_guest_access"] is True
    assert config["presence"] == {"enabled": False}
    assert config["dynamic_thumbnails"] is True
    assert config["max_image_pixels"] == "16M"
    assert config["media_retention"] == {"local_media_lifetime": "1y"}
    assert config["retention"] == {
        "enabled": True,
        "default_policy": {"max_lifetime": "180d"},
        "allowed_lifetime_min": "1h",
        "allowed_lifetime_max": "1y",
        "purge_jobs": [{"interval": "6h"}],
    }
    assert config["user_ips_max_age"] is None
    assert config["redaction_retention_period"] == "1d"
    assert config["encryption_enabled_by_default_for_room_type"] == "all"
    assert config["room_list_publication_rules"][1] == {
        "user_id": "@*:example.test",
        "action": "allow",
    }
    assert config["allow_public_rooms_over_federation"] is True
    assert config["user_directory"] == {"search_all_users": True}
    assert config["push"] == {"include_content": True}
    element = json.loads(files["/etc/wmx/element/config.json"].content)
    assert element["disable_guests"] is False
    assert element["default_federate"] is False
    assert element["enable_presence_by_hs_url"] == {"https://matrix.example.test": False}


@pytest.mark.parametrize(
    ("retention", "message"),
    [
        (
            {"allowed_min_lifetime": "30d", "allowed_max_lifetime": "1d"},
            "retention.allowed_min_lifetime (30d) is longer than retention.allowed_max_lifetime",
        ),
        (
            {"default_max_lifetime": "1h", "allowed_min_lifetime": "1d"},
            "retention.default_max_lifetime (1h) is shorter than",
        ),
        (
            {"default_max_lifetime": "2y", "allowed_max_lifetime": "1y"},
            "retention.default_max_lifetime (2y) is longer than",
        ),
        ({"purge_interval": "100ms"}, "is not a duration"),
        ({"purge_interval": "0h"}, "is not a duration"),
    ],
)
def test_inconsistent_retention_is_refused(retention: dict[str, str], message: str) -> None:
    _refused(message, synapse={"retention": {"enabled": True, **retention}})


def test_durations_are_synapses() -> None:
    assert duration_ms("12h") == 12 * 3600 * 1000
    assert duration_ms("1y") == 365 * 86400 * 1000
    _refused("is not a duration", synapse={"privacy": {"user_ips_max_age": "4 weeks"}})


def test_directory_publishers_must_be_user_masks() -> None:
    _refused(
        "is not a Matrix user id or mask",
        synapse={"privacy": {"room_directory_publishers": ["everyone"]}},
    )


# --- registration and e-mail ------------------------------------------------------------------


def test_open_registration_needs_email_verification() -> None:
    _refused(
        "synapse.registration: open needs e-mail verification", synapse={"registration": "open"}
    )
    _refused(
        "needs both smtp_host and notif_from", synapse={"email": {"smtp_host": "smtp.example.test"}}
    )


def test_open_registration_verifies_email_through_the_relay(tmp_path: Path) -> None:
    site = _site(tmp_path, synapse={"registration": "open", "email": SMTP})
    files = _files(site)
    config = _synapse(files)
    assert config["enable_registration"] is True
    assert config["registrations_require_3pid"] == ["email"]
    assert "registration_requires_token" not in config
    assert config["enable_3pid_changes"] is True
    assert config["email"] == {
        "smtp_host": "smtp.example.test",
        "smtp_port": 587,
        "smtp_user": "matrix",
        "smtp_pass": SECRETS.synapse_smtp_password,
        "require_transport_security": True,
        "notif_from": "m@example.test",
        "enable_notifs": False,
        "client_base_url": "https://element.example-web.test",
    }
    # The password only in the secret fragment.
    assert "email" not in yaml.safe_load(files["/etc/matrix-synapse/homeserver.yaml"].content)
    assert files["/etc/matrix-synapse/conf.d/secrets.yaml"].secret
    element = json.loads(files["/etc/wmx/element/config.json"].content)
    assert element["setting_defaults"]["UIFeature.registration"] is True
    assert element["setting_defaults"]["UIFeature.passwordReset"] is True
    assert element["disable_3pid_login"] is False


def test_token_registration_always_has_a_way_to_create_tokens(tmp_path: Path) -> None:
    """Tokens come from the Admin API (`wmx regtoken create`, through the SSH tunnel to
    Synapse's loopback listener): wmx.yaml has no setting that takes that way away, so
    token registration renders whole or not at all."""
    site = _site(tmp_path, synapse={"registration": "token"})
    config = _synapse(_files(site))
    assert (config["enable_registration"], config["registration_requires_token"]) == (True, True)
    client = config["listeners"][0]
    assert "127.0.0.1" in client["bind_addresses"] and "client" in client["resources"][0]["names"]
    assert config["registration_shared_secret"]  # how wmx's admin account is made


def test_config_set_spells_out_the_short_form_of_older_files(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir()
    (root / "wmx.yaml").write_text(
        "server_name: example.test\n"
        "homeserver:\n  host: matrix.example.test\n"
        "web_client:\n  host: element.example-web.test\n"
        "contacts:\n  admin_email: admin@example.test\n"
        "acme:\n  email: acme@example.test\n"
        "synapse:\n"
        "  # Link previews.\n"
        "  url_previews: false\n"
        "  # Presence.\n"
        "  presence: true\n"
    )
    config = set_value(SitePaths(root), "synapse.url_previews.enabled", "true", deployed=False)
    assert config.synapse.url_previews.enabled is True
    text = (root / "wmx.yaml").read_text()
    assert "  url_previews:\n    enabled: true\n" in text
    # The comment of the next key still precedes it.
    assert "  max_page_size_mb: 10\n  # Presence.\n  presence: true\n" in text
