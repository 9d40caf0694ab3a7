"""Synapse modules for logging in with a Wikimedia account (docs/login.md).

Loaded by Synapse from its homeserver.yaml / conf.d/secrets.yaml (the synapse role
copies this package verbatim to /usr/local/lib/wmx-synapse/wmx_agent/, on Synapse's
PYTHONPATH). Standard library only; Synapse's own classes are imported where Synapse
runs it, with stand-ins elsewhere, so that the mapping is tested on its own.

- `WikimediaMappingProvider`: Synapse's OIDC user mapping provider. A wiki profile
  (MediaWiki's /oauth2/resource/profile: sub, username, editcount, confirmed_email,
  blocked, …) becomes a Matrix localpart and display name; the account is tied to `sub`.
- `PasswordLoginGate`: SUL-only mode. Refuses every password login but those of the
  accounts it names (wmx's own admin account), through Synapse's `check_login_for_spam`.

The mapping (`localpart`), after the Matrix specification's "mapping from other
character sets", on the UTF-8 bytes of the user name:
- a-z, 0-9, `.` and `-` stay;
- A-Z become `_` and the lower-case letter, except the very first character, which
  MediaWiki always upper-cases, so that its case says nothing (`Alice` → `alice`);
- a space (MediaWiki's `_`) becomes `__`;
- every other byte (non-ASCII, punctuation, `_`, `=`) becomes `=` and two hex digits;
- a result of digits only (Synapse keeps those for guests) has its first digit escaped;
- a result longer than the server allows (255 characters for the whole user id) is cut
  at the limit, never inside an escape.
Different names give different localparts, except two long names cut to the same
prefix; when the localpart is taken (by such a name, or by an account made otherwise),
Synapse asks again with `failures` > 0 and the localpart gets `.` and 8 hex digits of a
hash of the person's own `sub`, so that nobody is ever handed another person's account.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

try:  # inside Synapse
    from synapse.handlers.sso import (  # type: ignore[import-not-found]
        MappingException as MappingException,  # re-exported: tests and Synapse name it here
    )
    from synapse.module_api import NOT_SPAM  # type: ignore[import-not-found]
except ImportError:  # tests, and anywhere without Synapse

    class MappingException(Exception):  # type: ignore[no-redef]
        """Synapse's MappingException: its message is shown on the login error page."""

    NOT_SPAM = "NOT_SPAM"

# A Matrix user id is at most 255 characters: "@" + localpart + ":" + server name.
MAX_USER_ID = 255
_KEPT = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789.-")
_UPPER = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# One unit of a localpart: an escape (=xx, _x, __) or a kept character.
_UNIT = re.compile(r"=[0-9a-f]{2}|_[a-z_]|[a-z0-9.\-]")


def max_localpart(server_name: str) -> int:
    return MAX_USER_ID - 2 - len(server_name)


def _units(name: str) -> list[str]:
    units: list[str] = []
    for index, byte in enumerate(name.encode("utf-8")):
        if byte in _KEPT:
            units.append(chr(byte))
        elif byte in _UPPER:
            lower = chr(byte).lower()
            units.append(lower if index == 0 else "_" + lower)
        elif byte == 0x20 and index > 0:
            units.append("__")
        else:
            units.append(f"={byte:02x}")
    if units and all(u.isdigit() for u in units):
        units[0] = f"={ord(units[0]):02x}"
    return units


def _cut(units: list[str], limit: int) -> str:
    out: list[str] = []
    length = 0
    for unit in units:
        if length + len(unit) > limit:
            break
        out.append(unit)
        length += len(unit)
    return "".join(out)


def collision_suffix(sub: str, failures: int) -> str:
    """`.` and 8 hex digits, from the person's own `sub` (and the attempt after the first)."""
    seed = sub if failures <= 1 else f"{sub}/{failures}"
    return "." + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:8]


def localpart(name: str, *, limit: int, sub: str = "", failures: int = 0) -> str:
    """The localpart for wiki user `name` (the module's docstring gives the rule)."""
    if limit < 16:
        raise ValueError("the server name leaves no room for a localpart")
    units = _units(name)
    if not failures:
        return _cut(units, limit)
    suffix = collision_suffix(sub, failures)
    return _cut(units, limit - len(suffix)) + suffix


def is_localpart(value: str) -> bool:
    """Whether `value` is made of the mapping's units (what `localpart` returns)."""
    return bool(value) and "".join(_UNIT.findall(value)) == value


@dataclass(frozen=True)
class MappingConfig:
    server_name: str
    min_edit_count: int = 0
    require_confirmed_email: bool = False
    wiki: str = "the wiki"


class WikimediaMappingProvider:
    """Synapse's OIDC mapping provider interface (docs: sso_mapping_providers.md)."""

    def __init__(self, parsed_config: MappingConfig, module_api: Any = None) -> None:
        self._config = parsed_config
        self._limit = max_localpart(parsed_config.server_name)

    @staticmethod
    def parse_config(config: Mapping[str, Any]) -> MappingConfig:
        server_name = config.get("server_name")
        edits = config.get("min_edit_count", 0)
        confirmed = config.get("require_confirmed_email", False)
        wiki = config.get("wiki", "the wiki")
        if not isinstance(server_name, str) or not server_name:
            raise ValueError("wmx_agent.wikimedia_login: config.server_name is required")
        if type(edits) is not int or edits < 0:
            raise ValueError("wmx_agent.wikimedia_login: min_edit_count: a whole number ≥ 0")
        if type(confirmed) is not bool or not isinstance(wiki, str):
            raise ValueError("wmx_agent.wikimedia_login: require_confirmed_email: true/false")
        return MappingConfig(server_name, edits, confirmed, wiki)

    def get_remote_user_id(self, userinfo: Mapping[str, Any]) -> str:
        sub = userinfo.get("sub")
        if type(sub) not in (str, int) or str(sub) == "":
            raise MappingException(f"{self._config.wiki} sent no account id (sub)")
        return str(sub)

    def check(self, userinfo: Mapping[str, Any]) -> None:
        """Refuse blocked accounts and those short of the site's requirements."""
        wiki = self._config.wiki
        if userinfo.get("blocked") is not False:
            raise MappingException(
                f"This account is blocked on {wiki} (or {wiki} did not say it is not), "
                "so it cannot log in here."
            )
        edits = userinfo.get("editcount")
        if self._config.min_edit_count and (
            type(edits) is not int or edits < self._config.min_edit_count
        ):
            raise MappingException(
                f"Logging in here needs at least {self._config.min_edit_count} edits on "
                f"your account (across Wikimedia wikis); {wiki} reports fewer."
            )
        if self._config.require_confirmed_email and userinfo.get("confirmed_email") is not True:
            raise MappingException(
                f"Logging in here needs a confirmed e-mail address on your {wiki} account."
            )

    async def map_user_attributes(
        self, userinfo: Mapping[str, Any], token: Any, failures: int
    ) -> dict[str, Any]:
        # Called for new accounts and (sso.update_profile_information) at every login,
        # so a block or an unmet requirement stops returning people too.
        self.check(userinfo)
        name = userinfo.get("username")
        if not isinstance(name, str) or not name.strip():
            raise MappingException(f"{self._config.wiki} sent no user name")
        sub = self.get_remote_user_id(userinfo)
        return {
            "localpart": localpart(name, limit=self._limit, sub=sub, failures=failures),
            "display_name": name,
            "emails": [],
            "confirm_localpart": False,
        }

    async def get_extra_attributes(self, userinfo: Mapping[str, Any], token: Any) -> dict[str, Any]:
        return {}


class PasswordLoginGate:
    """SUL-only: a password login succeeds only for the user ids in `allow`."""

    def __init__(self, config: Mapping[str, Any], api: Any) -> None:
        self._allow = frozenset(config["allow"])
        api.register_spam_checker_callbacks(check_login_for_spam=self.check_login_for_spam)

    @staticmethod
    def parse_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
        allow = config.get("allow")
        if not isinstance(allow, list) or not all(isinstance(u, str) for u in allow):
            raise ValueError("wmx_agent.wikimedia_login.PasswordLoginGate: allow: user ids")
        return config

    async def check_login_for_spam(
        self,
        user_id: str,
        device_id: str | None,
        initial_display_name: str | None,
        request_info: Any,
        auth_provider_id: str | None = None,
    ) -> Any:
        # auth_provider_id: the SSO provider of a login token (oidc-…); None for a
        # password (or other non-SSO) login.
        if auth_provider_id is not None or user_id in self._allow:
            return NOT_SPAM
        return _forbidden()


def _forbidden() -> Any:
    try:
        from synapse.api.errors import Codes  # type: ignore[import-not-found]
    except ImportError:
        return ("M_FORBIDDEN", {})
    return (Codes.FORBIDDEN, {})
