"""Logging in with a Wikimedia account (issue 15), without a host: the name mapping over
real-world-shaped names, collisions and stability, the mapping provider's refusals, the
SUL-only gate, the `login:` settings and the Synapse configuration they render."""

from __future__ import annotations

import asyncio
import hashlib
import re
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.unit.render_sites import (
    BASE_CONFIG,
    SECRETS,
    files_by_dest,
    make_site,
    synapse_config,
)
from wmx.agent import sources
from wmx.agent.wikimedia_login import (
    MappingException,
    PasswordLoginGate,
    WikimediaMappingProvider,
    is_localpart,
    localpart,
    max_localpart,
)
from wmx.errors import WmxError
from wmx.site.model import SiteConfig
from wmx.site.secrets import write_secrets
from wmx.site.topology import HostView

SERVER = "example.test"
LIMIT = max_localpart(SERVER)
# What Synapse accepts for a new account (synapse.types.contains_invalid_mxid_characters,
# and no leading "_", not digits only), within the user id's 255 characters.
SYNAPSE_LOCALPART = re.compile(r"[a-z0-9._=/+-]+")

# Real-world-shaped Wikimedia user names: scripts, combining marks, emoji, spaces,
# punctuation, digits, IP-like and the longest MediaWiki allows (255 bytes of UTF-8).
CORPUS = [
    "Jimbo Wales",
    "Alice",
    "A",
    "Ab",
    "AB",
    "Foo bar",
    "Foo Bar",
    "FooBar",
    "Ниж",
    "Иван Петров",
    "中文維基",
    "ウィキペ太郎",
    "عبد الله",
    "שלום",
    "देवनागरी",
    "Ελληνικά",
    "Ærøskøbing",
    "Zoë",
    "Zoe\u0308",  # the same as Zoë, decomposed: a different name to MediaWiki
    "Ǆemal",
    "I ❤ Wikipedia",
    "🦊🦊",
    "👩‍👩‍👧",
    "O'Brien",
    "Mr. Smith-Jones",
    "User=equals",
    "Back\\slash",
    "Slash/Name",
    "Plus+Name",
    "Per%cent",
    "123",
    "2024",
    "1.5",
    "Ünïcödé ünd spaces",
    "Ⅻ Roman",
    "\u210c\U0001d522\U0001d529\U0001d529\U0001d52c",  # mathematical letters
    "x" * 255,
    "X" * 255,
    "É" * 127,
    "字" * 85,
    "🦊" * 63,
]


def mapped(name: str, failures: int = 0, sub: str = "12345") -> str:
    return localpart(name, limit=LIMIT, sub=sub, failures=failures)


@pytest.mark.parametrize("name", CORPUS)
def test_every_name_maps_to_a_localpart_synapse_accepts(name: str) -> None:
    assert len(name.encode()) <= 255
    for failures in (0, 1, 2):
        part = mapped(name, failures)
        assert SYNAPSE_LOCALPART.fullmatch(part), part
        assert not part.startswith("_")
        assert not part.isdigit()
        assert len(f"@{part}:{SERVER}") <= 255
        assert is_localpart(part.split(".")[0] if failures else part)


def test_the_mapping_is_the_documented_one() -> None:
    assert mapped("Alice") == "alice"
    assert mapped("Jimbo Wales") == "jimbo___wales"  # space __, W _w
    assert mapped("Foo bar") == "foo__bar"
    assert mapped("FooBar") == "foo_bar"
    assert mapped("Ниж") == "=d0=9d=d0=b8=d0=b6"
    assert mapped("O'Brien") == "o=27_brien"
    assert mapped("User=equals") == "user=3dequals"
    assert mapped("123") == "=3123"
    assert mapped("1.5") == "1.5"
    assert mapped("Mr. Smith-Jones") == "mr.___smith-_jones"


def test_distinct_short_names_never_share_a_localpart() -> None:
    short = [n for n in CORPUS if len(mapped(n)) < LIMIT]
    parts = [mapped(n) for n in short]
    assert len(set(parts)) == len(parts)
    # Unicode-equivalent spellings stay apart: MediaWiki treats them as two accounts.
    assert unicodedata.normalize("NFC", "Zoe\u0308") == "Zoë"
    assert mapped("Zoe\u0308") != mapped("Zoë")


def test_the_mapping_is_stable() -> None:
    # Pinned: a change here would give returning people a second account.
    digest = hashlib.sha256("\n".join(mapped(n) for n in CORPUS).encode()).hexdigest()
    assert [mapped(n) for n in CORPUS] == [mapped(n) for n in CORPUS]
    assert digest == STABLE_DIGEST


STABLE_DIGEST = "06e1b6c83ae9d076a1d60213d218b7f4a390086ddd547031f71bcae1bbdd6da3"


def test_long_names_are_cut_at_the_limit_never_inside_an_escape() -> None:
    part = mapped("字" * 85)
    assert len(part) <= LIMIT
    assert LIMIT - len(part) < 3
    assert is_localpart(part)
    a, b = "x" * 250 + "Alpha", "x" * 250 + "Beta"
    assert mapped(a) == mapped(b)  # a collision after mapping: the suffix rule decides


def test_a_collision_gets_a_suffix_from_the_persons_own_sub() -> None:
    first = mapped("Foo", failures=1, sub="111")
    second = mapped("Foo", failures=1, sub="222")
    assert first.startswith("foo.") and second.startswith("foo.")
    assert first != second
    assert mapped("Foo", failures=1, sub="111") == first  # deterministic
    assert mapped("Foo", failures=2, sub="111") not in {first, mapped("Foo")}
    long = mapped("x" * 255, failures=1, sub="111")
    assert len(long) <= LIMIT and long.endswith(first[3:])


def _provider(**config: Any) -> WikimediaMappingProvider:
    parsed = WikimediaMappingProvider.parse_config({"server_name": SERVER, **config})
    return WikimediaMappingProvider(parsed)


def profile(**fields: Any) -> dict[str, Any]:
    return {
        "sub": 4242,
        "username": "Jimbo Wales",
        "editcount": 10,
        "confirmed_email": True,
        "blocked": False,
        "registered": "20010315000000",
        "groups": ["*", "user"],
        "rights": ["read"],
        **fields,
    }


def _map(provider: WikimediaMappingProvider, info: dict[str, Any], failures: int = 0) -> Any:
    return asyncio.run(provider.map_user_attributes(info, {}, failures))


def test_the_provider_ties_the_account_to_sub_and_shows_the_wiki_name() -> None:
    provider = _provider()
    assert provider.get_remote_user_id(profile()) == "4242"
    attributes = _map(provider, profile())
    assert attributes["localpart"] == "jimbo___wales"
    assert attributes["display_name"] == "Jimbo Wales"
    assert attributes["confirm_localpart"] is False
    # Renamed on the wiki: same sub (Synapse keeps the Matrix id), the new display name.
    assert provider.get_remote_user_id(profile(username="Jimmy")) == "4242"
    assert _map(provider, profile(username="Jimmy"))["display_name"] == "Jimmy"


@pytest.mark.parametrize(
    ("config", "info", "says"),
    [
        ({}, profile(blocked=True), "blocked"),
        ({}, profile(blocked=None), "blocked"),
        ({"min_edit_count": 50}, profile(editcount=49), "50 edits"),
        ({"min_edit_count": 50}, profile(editcount="500"), "50 edits"),
        ({"require_confirmed_email": True}, profile(confirmed_email=False), "e-mail"),
        ({}, profile(username=""), "no user name"),
        ({}, profile(sub=""), "account id"),
    ],
)
def test_the_provider_refuses_with_a_message_synapse_shows(
    config: dict[str, Any], info: dict[str, Any], says: str
) -> None:
    with pytest.raises(MappingException, match=says):
        _map(_provider(**config), info)


def test_the_provider_admits_accounts_that_meet_the_requirements() -> None:
    provider = _provider(min_edit_count=50, require_confirmed_email=True)
    assert _map(provider, profile(editcount=50))["localpart"] == "jimbo___wales"


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"server_name": SERVER, "min_edit_count": -1},
        {"server_name": SERVER, "min_edit_count": True},
    ],
)
def test_the_provider_config_is_checked(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        WikimediaMappingProvider.parse_config(config)


class _Api:
    def __init__(self) -> None:
        self.callbacks: dict[str, Any] = {}

    def register_spam_checker_callbacks(self, **callbacks: Any) -> None:
        self.callbacks.update(callbacks)


def test_sul_only_refuses_password_logins_but_wmx_admins() -> None:
    api = _Api()
    PasswordLoginGate(PasswordLoginGate.parse_config({"allow": ["@wmx-admin:x.test"]}), api)
    check = api.callbacks["check_login_for_spam"]

    def run(user: str, provider: str | None) -> Any:
        return asyncio.run(check(user, None, None, [], provider))

    assert run("@wmx-admin:x.test", None) == "NOT_SPAM"
    assert run("@alice:x.test", "oidc-wikimedia") == "NOT_SPAM"
    assert run("@alice:x.test", None) == ("M_FORBIDDEN", {})


def test_the_module_is_copied_to_the_homeserver_only_with_login_on(tmp_path: Path) -> None:
    assert "wikimedia_login.py" in sources()
    off = files_by_dest(_site(tmp_path / "off", {}), "hs1")
    assert not [d for d in off if d.startswith("/usr/local/lib/wmx-synapse/")]
    files = files_by_dest(_site(tmp_path / "on", LOGIN), "hs1")
    module = files["/usr/local/lib/wmx-synapse/wmx_agent/wikimedia_login.py"]
    assert module.content == sources()["wikimedia_login.py"]
    assert "/usr/local/lib/wmx-synapse/wmx_agent/__init__.py" in files
    assert "/usr/local/lib/wmx-synapse/wmx_agent/backup/job.py" not in files
    unit = files["/etc/systemd/system/matrix-synapse.service"].content
    assert "Environment=PYTHONPATH=/usr/local/lib/wmx-synapse\n" in unit


LOGIN: dict[str, Any] = {"provider": "wikimedia", "consumer_key": "0123456789abcdef" * 2}
HOSTS = [HostView("hs1", "10.213.0.11", ("database", "homeserver", "proxy", "element"), 2048)]


def _site(tmp_path: Path, login: dict[str, Any], **extra: Any) -> Any:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return make_site(tmp_path, {**BASE_CONFIG, "login": login, **extra}, HOSTS)


def test_synapse_gets_the_wikis_endpoints_and_the_secret_only_in_conf_d(tmp_path: Path) -> None:
    files = files_by_dest(_site(tmp_path, {**LOGIN, "min_edit_count": 5}), "hs1")
    homeserver = files["/etc/matrix-synapse/homeserver.yaml"].content
    assert "test-login-client-secret-0000" not in homeserver
    assert files["/etc/matrix-synapse/conf.d/secrets.yaml"].secret
    config = synapse_config(files)
    (provider,) = config["oidc_providers"]
    assert provider == {
        "idp_id": "wikimedia",
        "idp_name": "Wikimedia account",
        "discover": False,
        "issuer": "https://meta.wikimedia.org/",
        "client_id": "0123456789abcdef" * 2,
        "client_secret": "test-login-client-secret-0000",
        "client_auth_method": "client_secret_post",
        "scopes": [],
        "authorization_endpoint": "https://meta.wikimedia.org/w/rest.php/oauth2/authorize",
        "token_endpoint": "https://meta.wikimedia.org/w/rest.php/oauth2/access_token",
        "userinfo_endpoint": "https://meta.wikimedia.org/w/rest.php/oauth2/resource/profile",
        "user_profile_method": "userinfo_endpoint",
        "allow_existing_users": False,
        "enable_registration": True,
        "user_mapping_provider": {
            "module": "wmx_agent.wikimedia_login.WikimediaMappingProvider",
            "config": {
                "server_name": "example.test",
                "min_edit_count": 5,
                "require_confirmed_email": False,
                "wiki": "meta.wikimedia.org",
            },
        },
    }
    assert config["sso"] == {
        "update_profile_information": True,
        "client_whitelist": ["https://element.example-web.test/"],
    }
    assert "modules" not in config
    assert config["enable_registration"] is False


def test_sul_only_closes_registration_and_gates_password_logins(tmp_path: Path) -> None:
    files = files_by_dest(_site(tmp_path, {**LOGIN, "sul_only": True}), "hs1")
    config = synapse_config(files)
    assert config["enable_registration"] is False
    assert config["modules"] == [
        {
            "module": "wmx_agent.wikimedia_login.PasswordLoginGate",
            "config": {"allow": ["@wmx-admin:example.test"]},
        }
    ]
    # wmx's own administration signs in with a password and the shared secret: both stay.
    assert "password_config" not in config
    assert config["registration_shared_secret"]


def test_another_wiki_on_request(tmp_path: Path) -> None:
    login = {**LOGIN, "wiki_url": "https://wiki.example.org:8443/", "script_path": ""}
    config = synapse_config(files_by_dest(_site(tmp_path, login), "hs1"))
    (provider,) = config["oidc_providers"]
    assert (
        provider["token_endpoint"] == "https://wiki.example.org:8443/rest.php/oauth2/access_token"
    )


def test_login_on_without_the_secret_is_a_one_line_error(tmp_path: Path) -> None:
    site = _site(tmp_path, LOGIN)
    write_secrets(site.paths.secrets, replace(SECRETS, login_client_secret=""))
    with pytest.raises(WmxError, match="wmx login client-secret"):
        files_by_dest(site, "hs1")


@pytest.mark.parametrize(
    ("login", "says"),
    [
        ({"provider": "wikimedia"}, "consumer_key"),
        ({"sul_only": True}, "sul_only needs"),
        ({**LOGIN, "consumer_key": "ABC"}, "32 lower-case hex"),
        ({**LOGIN, "consumer_key": "0123456789abcdef" * 2 + "\n"}, "32 lower-case hex"),
        ({**LOGIN, "wiki_url": "http://meta.wikimedia.org"}, "https://"),
        ({**LOGIN, "wiki_url": "https://meta.wikimedia.org/w"}, "without a path"),
        ({**LOGIN, "wiki_url": "https://meta.wikimedia.org/?x=1"}, "without a path"),
        ({**LOGIN, "wiki_url": "https://user:pw@meta.wikimedia.org"}, "URL"),
        ({**LOGIN, "script_path": "w"}, "script path"),
        ({**LOGIN, "script_path": "/w/../x y"}, "script path"),
        ({**LOGIN, "button_label": "{{ secrets }}"}, "template"),
        ({**LOGIN, "button_label": "a\nb"}, "one line"),
        ({**LOGIN, "min_edit_count": -1}, "greater than or equal"),
        ({**LOGIN, "min_edit_count": "5"}, "integer"),
        ({**LOGIN, "min_edit_count": True}, "integer"),
        ({**LOGIN, "sul_only": "yes"}, "boolean"),
        ({**LOGIN, "provider": "google"}, "wikimedia"),
        ({**LOGIN, "client_secret": "x"}, "Extra inputs"),
    ],
)
def test_login_settings_are_checked(login: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        SiteConfig.model_validate({**BASE_CONFIG, "login": login})


def test_sul_only_needs_closed_registration() -> None:
    with pytest.raises(ValidationError, match=r"synapse\.registration: closed"):
        SiteConfig.model_validate(
            {
                **BASE_CONFIG,
                "login": {**LOGIN, "sul_only": True},
                "synapse": {"registration": "token"},
            }
        )
