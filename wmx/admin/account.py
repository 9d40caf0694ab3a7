"""How wmx reaches the Admin API and signs in: its own admin account, `wmx-admin`.

- Reaching Synapse: an SSH tunnel to 127.0.0.1:8008 on the homeserver host, opened and
  closed around each command with the inventory's connection settings; or `--url` when an
  operator has exposed the listener on a private network.
- Signing in: the access token cached in `SITE/.wmx/admin-token` (mode 0600) when Synapse
  still accepts it; else a password login; else, on first use, the account is registered
  with the registration shared secret. Its password is `wmx_admin_password` in
  `secrets.yml`, generated like every other secret and never printed. If the account
  exists but refuses that password, the shared secret sets it straight (`_recover`).
"""

from __future__ import annotations

import ipaddress
import re
import secrets as csprng
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit

from wmx.admin.client import SynapseAdmin
from wmx.admin.http import (
    AdminApiError,
    AdminHttp,
    NotFoundError,
    SynapseUnreachable,
    UnauthorizedError,
    UnexpectedReply,
)
from wmx.admin.registration import register_user
from wmx.admin.tunnel import synapse_tunnel
from wmx.components.synapse import SYNAPSE_PORT
from wmx.errors import InputError, WmxError
from wmx.site import Site
from wmx.site.state_files import read_state
from wmx.site.yamlfile import locked, write_atomically

ADMIN_LOCALPART = "wmx-admin"
ADMIN_DISPLAY_NAME = "wmx administration"
# A fixed device: logging in again replaces wmx's session instead of piling up devices.
ADMIN_DEVICE_ID = "WMXADMIN"
TOKEN_FILE = "admin-token"
TOKEN_PLACE = "wmx keeps its Admin API token there"

# What Synapse hands out as an access token (syt_…, or a macaroon): one word.
_TOKEN = re.compile(r"[!-~]{1,2048}")
_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[^\s?#@]*)?$")


def check_admin_url(value: str) -> str:
    """`--url`: where Synapse's client listener answers (http[s]://host[:port]).

    wmx signs in with its admin password there, so plain http:// is refused unless the
    host is loopback or a private address (where a tunnel or private network carries it).
    """
    text = value.strip()
    # Never echo a password given in the URL (user:password@host): it may hold any
    # character, `/` and `://` too, so a value with an `@` is not quoted at all.
    shown = repr(value[:200]) if "@" not in value else "the URL (not shown: it has an @)"
    refused = InputError(
        f"{shown} is not a base URL such as http://10.0.0.5:8008 "
        "(scheme, host and port only; no user name or password)"
    )
    if not _URL.match(text):
        raise refused
    url = text.rstrip("/")
    try:  # `http://[::1` and a port over 65535 pass the pattern
        parts = urlsplit(url)
        host, _ = parts.hostname or "", parts.port
    except ValueError:
        raise refused from None
    if parts.path:  # the pattern took no `@`: nothing secret to hide in it
        raise InputError(
            f"--url {url}: give Synapse's base URL without a path ({parts.path!r}), such as "
            f"{parts.scheme}://{parts.netloc}: wmx adds /_synapse/admin and /_matrix itself"
        )
    if url.startswith("http://") and not private_host(host):
        raise InputError(
            f"--url {url}: wmx sends wmx-admin's password to this URL, and plain http:// "
            "goes only to loopback or a private address; use https:// (or no --url: an SSH "
            "tunnel)"
        )
    return url


def private_host(host: str) -> bool:
    """Loopback (by name or address) or a private, link-local or unique-local address."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: wmx cannot tell where it points
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or (address.is_private and not address.is_unspecified)


def admin_user_id(site: Site) -> str:
    return f"@{ADMIN_LOCALPART}:{site.config.server_name}"


def token_path(site: Site) -> Path:
    return site.paths.state / TOKEN_FILE


def reach_synapse(site: Site, url: str | None = None) -> AbstractContextManager[str]:
    """A context yielding Synapse's base URL: `url` as given, or an SSH tunnel."""
    if url:
        return nullcontext(_not_behind_the_proxy(site, check_admin_url(url)))
    return synapse_tunnel(site.topology.the("homeserver"))


def _not_behind_the_proxy(site: Site, url: str) -> str:
    """Refuse a `--url` naming one of the site's public names on the proxy's ports: the
    site's nginx hides the Admin API there (404), so every command would fail after
    signing in, saying the endpoint is unknown, as if Synapse were too old for it."""
    parts = urlsplit(url)
    config = site.config
    public = {config.server_name, config.homeserver.host, config.web_client.host}
    if (parts.hostname or "").lower() in public and parts.port in (None, 443, 8448):
        raise InputError(
            f"--url {url}: {parts.hostname} is this site's public name, where its nginx "
            "hides the Admin API; leave --url out (an SSH tunnel to Synapse) or give "
            "Synapse's own address, e.g. http://10.0.0.5:8008 on a private network"
        )
    return url


@contextmanager
def admin_session(site: Site, url: str | None = None) -> Iterator[SynapseAdmin]:
    """A signed-in `SynapseAdmin` for the site's homeserver; closes everything after."""
    with reach_synapse(site, url) as base_url:
        admin = SynapseAdmin(base_url, "", server_name=site.config.server_name)
        with admin:
            try:
                sign_in(admin, site)
            except (NotFoundError, UnexpectedReply) as exc:
                raise _not_synapse(site, url, exc) from None
            except AdminApiError as exc:
                if exc.status not in (404, 405, 501):
                    raise
                raise _not_synapse(site, url, exc) from None
            except SynapseUnreachable as exc:
                if url:
                    raise
                # The tunnel's local end (http://127.0.0.1:50261) names nothing the
                # operator knows: say the host, and where to look.
                host = site.topology.the("homeserver").name
                raise WmxError(
                    f"Synapse on {host} does not answer (reached over SSH, port "
                    f"{SYNAPSE_PORT} there): {exc.cause}; `wmx status` says whether it "
                    "runs, `wmx logs synapse` why not"
                ) from None
            yield admin


def _not_synapse(site: Site, url: str | None, exc: WmxError) -> WmxError:
    """Signing in got an answer Synapse's client API never gives (a 404 for whoami or
    login, a 200 that is no JSON object): what answers is not Synapse, or not its
    client listener (a web server, the metrics or replication port)."""
    request = getattr(exc, "request", "")
    if isinstance(exc, UnexpectedReply) or not request:
        cause = str(exc)
    else:
        cause = f"{getattr(exc, 'status', 404)} for {request}"
    if url:
        return InputError(
            f"--url {url} does not lead to Synapse's Admin API: no Matrix client API answers "
            f"there ({cause}); give Synapse's client listener, e.g. http://10.0.0.5:8008"
        )
    host = site.topology.the("homeserver").name
    return WmxError(
        f"what answers on {host} port {SYNAPSE_PORT} (reached over SSH) is not Synapse's "
        f"client API ({cause}); `wmx status` says whether Synapse runs"
    )


def sign_in(admin: SynapseAdmin, site: Site) -> None:
    path = token_path(site)
    if _cached_token_works(admin, site, path):
        return
    # One sign-in at a time per site: every wmx login reaches Synapse from 127.0.0.1
    # (the tunnel), whose login limit (rc_login.address: a burst of 5, then one per
    # 5.5 minutes) two commands signing in at once after a lost token had used up.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with locked(path):
        if _cached_token_works(admin, site, path):  # another run signed in meanwhile
            return
        _sign_in_afresh(admin, site, path)


def _cached_token_works(admin: SynapseAdmin, site: Site, path: Path) -> bool:
    cached = read_token(path)
    if not cached:
        return False
    admin.http.set_token(cached)
    try:
        return admin.whoami() == admin_user_id(site)
    except UnauthorizedError:
        return False  # expired, logged out, or from an earlier install: sign in afresh


def _sign_in_afresh(admin: SynapseAdmin, site: Site, path: Path) -> None:
    password = site.secrets.wmx_admin_password
    token = _log_in(admin.http, password)
    if token is None:
        token = _register(admin.http.base_url, site, password)
    if token is None:
        token = _recover(admin, site, password)
    write_token(path, token)
    admin.http.set_token(token)


def _log_in(http: AdminHttp, password: str) -> str | None:
    """A fresh access token, or None when Synapse knows no such account/password."""
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": ADMIN_LOCALPART},
        "password": password,
        "device_id": ADMIN_DEVICE_ID,
        "initial_device_display_name": ADMIN_DISPLAY_NAME,
    }
    try:
        data = http.post(
            "/_matrix/client/v3/login", json=body, authenticated=False, keys=("access_token",)
        )
    except AdminApiError as exc:
        # 403: no such account, wrong password or deactivated; 401: locked.
        if exc.status in (401, 403):
            return None
        raise
    return str(data["access_token"])


def _register(base_url: str, site: Site, password: str) -> str | None:
    """First use on this homeserver: create wmx's admin account by shared secret.

    None when the account exists already (with another password).
    """
    try:
        user = register_user(
            base_url,
            site.secrets.registration_shared_secret,
            ADMIN_LOCALPART,
            password,
            admin=True,
            displayname=ADMIN_DISPLAY_NAME,
        )
    except WmxError as exc:
        if "taken" in str(exc) or "in use" in str(exc).lower():
            return None
        raise
    return user.access_token


def _recover(admin: SynapseAdmin, site: Site, password: str) -> str:
    """`wmx-admin` exists but refuses secrets.yml's password (the file was replaced, or
    the database outlived an earlier site), or was deactivated or locked.

    Whoever holds the registration shared secret may create admins at will, so wmx uses
    it to register a one-off helper admin, sets its own account straight (password,
    admin, active, unlocked), signs in, and deactivates the helper.
    """
    base_url = admin.http.base_url
    helper = register_user(
        base_url,
        site.secrets.registration_shared_secret,
        f"{ADMIN_LOCALPART}-recovery-{csprng.token_hex(4)}",
        csprng.token_urlsafe(32),
        admin=True,
    )
    token: str | None = None
    with SynapseAdmin(base_url, helper.access_token, server_name=admin.server_name) as helping:
        try:
            helping.users.put(
                admin_user_id(site),
                {"password": password, "admin": True, "deactivated": False, "locked": False},
            )
            token = _log_in(admin.http, password)
        finally:
            if token is None:
                helping.users.deactivate(helper.user_id, erase=True)
    if token is None:
        raise WmxError(f"{admin_user_id(site)} refuses secrets.yml's password even after a reset")
    admin.http.set_token(token)
    admin.users.deactivate(helper.user_id, erase=True)
    return token


def read_token(path: Path) -> str | None:
    """The cached access token; None when there is none or the file is not one (a FIFO,
    a link out of .wmx/, text that is no token): wmx signs in again and replaces it."""
    try:
        data = read_state(path, path.parent.parent, limit=4096)
        text = (data or b"").decode("ascii").strip()
    except (InputError, UnicodeDecodeError):
        return None
    return text if _TOKEN.fullmatch(text) else None


def write_token(path: Path, token: str) -> None:
    """Write with mode 0600 from the first byte, inside a 0700 state directory, through
    no symbolic link (a `.admin-token.tmp` linked elsewhere had the token written there)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomically(
        path, token + "\n", 0o600, keep_mode=False, follow_links=False, purpose=TOKEN_PLACE
    )
