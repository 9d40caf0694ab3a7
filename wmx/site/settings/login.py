"""Logging in with a Wikimedia account (`login:` in wmx.yaml, docs/login.md).

Synapse's own OIDC login against a wiki's OAuth 2.0 endpoints (MediaWiki's OAuth
extension: Meta-Wiki for Wikimedia's single user login). The consumer key is here; its
secret is in secrets.yml (`login_client_secret`, stored by `wmx login client-secret`).
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from wmx.site.grammars import check_text, check_url
from wmx.site.settings.section import Section
from wmx.site.validation import cross_field

# Meta-Wiki: the central wiki of Wikimedia's single user login (SUL).
META_WIKI = "https://meta.wikimedia.org"
# MediaWiki's REST endpoints of the OAuth extension, below the wiki's script path.
AUTHORIZE_PATH = "/rest.php/oauth2/authorize"
TOKEN_PATH = "/rest.php/oauth2/access_token"
PROFILE_PATH = "/rest.php/oauth2/resource/profile"
# Synapse's name of the provider: its login flow lists `oidc-wikimedia`.
IDP_ID = "wikimedia"

# The OAuth extension makes 32 lower-case hex digits of every consumer key.
_CONSUMER_KEY = re.compile(r"[0-9a-f]{32}", re.ASCII)
# The wiki's script path (Wikimedia: /w): up to four path segments, or empty.
_SCRIPT_PATH = re.compile(r"(?:/[A-Za-z0-9._~-]{1,64}){0,4}", re.ASCII)


def check_consumer_key(value: str) -> str:
    """An OAuth 2.0 consumer key as the wiki shows it, or empty (none yet)."""
    if value and not _CONSUMER_KEY.fullmatch(value):
        raise ValueError(
            f"{value[:80]!r} is not an OAuth 2.0 consumer key (32 lower-case hex digits, "
            "as Special:OAuthConsumerRegistration shows it)"
        )
    return value


class LoginSettings(Section):
    """`login:`: who may log in, and how."""

    # `wikimedia`: MediaWiki's OAuth 2.0 (Meta-Wiki by default). None: passwords only.
    provider: Literal["wikimedia"] | None = None
    # The wiki whose accounts log in: its https:// base URL (scheme, host, optional
    # port), and the path of its scripts (rest.php).
    wiki_url: str = META_WIKI
    script_path: str = "/w"
    # The OAuth 2.0 consumer's key (client id) from Special:OAuthConsumerRegistration.
    consumer_key: str = ""
    # The login button's text in the web client.
    button_label: str = "Wikimedia account"
    # Requirements checked at every login (the profile's editcount, confirmed_email).
    min_edit_count: int = Field(default=0, ge=0, le=1_000_000_000)
    require_confirmed_email: bool = False
    # SUL-only: nobody logs in or registers with a password but wmx's own admin account.
    sul_only: bool = False

    @field_validator("wiki_url")
    @classmethod
    def _wiki(cls, value: str) -> str:
        url = check_url(value).rstrip("/")
        parts = urlsplit(url)
        if parts.path or parts.query or parts.fragment:
            raise ValueError(
                f"{value[:80]!r}: login.wiki_url is the wiki's base URL (such as "
                f"{META_WIKI}), without a path; the path of rest.php is login.script_path"
            )
        return url

    @field_validator("script_path")
    @classmethod
    def _script_path(cls, value: str) -> str:
        if not _SCRIPT_PATH.fullmatch(value):
            raise ValueError(
                f"{value[:80]!r} is not a script path such as /w (up to four /segments of "
                "letters, digits and ._~-, or empty)"
            )
        return value

    _key = field_validator("consumer_key")(classmethod(lambda cls, v: check_consumer_key(v)))

    _label = field_validator("button_label")(
        classmethod(lambda cls, v: check_text(v, "button label"))
    )

    @model_validator(mode="after")
    def _complete(self) -> LoginSettings:
        if self.provider is None and self.sul_only:
            raise cross_field(
                "sul_only",
                "login.sul_only needs login.provider: wikimedia (with nobody able to log in "
                "with a password and no other way in, only wmx-admin could)",
            )
        if self.provider is not None and not self.consumer_key:
            raise cross_field(
                "provider",
                "login.provider needs login.consumer_key (register the OAuth 2.0 consumer on "
                "the wiki first, docs/login.md)",
            )
        return self

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def endpoint(self, path: str) -> str:
        """One of the wiki's OAuth 2.0 endpoints (AUTHORIZE_PATH, TOKEN_PATH, PROFILE_PATH)."""
        return f"{self.wiki_url}{self.script_path}{path}"
