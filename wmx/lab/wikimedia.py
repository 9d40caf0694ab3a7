"""The lab's Meta-Wiki: an OAuth 2.0 provider shaped like MediaWiki's OAuth extension.

Standing in for https://meta.wikimedia.org as pebble stands in for Let's Encrypt: the
same REST paths below the script path (/w/rest.php/oauth2/authorize, /access_token,
/resource/profile), the authorization code grant with the client's secret in the body
or in Basic auth (and PKCE S256 when the client sends a challenge), a consent page with
the consumer's name and an "Allow" button, and the profile MediaWiki returns (sub,
username, editcount, confirmed_email, blocked, registered, groups, rights). Test accounts
(`LAB_ACCOUNTS`) cover the names a mapping must survive; `rename` renames one, as a
global rename on Meta would (same `sub`).

Tests start it in a thread (`start_standin`); the lab runs it as a daemon on
meta.lab.test (`python -m wmx.lab.wikimedia --directory DIR`, wmx/lab/meta.py), whose
accounts live in DIR/accounts.json, read again whenever the file is replaced (how
`wmx.lab.meta.change_account` renames or blocks an account of the running daemon).

Standard library only (http.server): Authlib, named in issue 15, has no server
integration without Flask or Django, neither of which this project installs. The
stand-in is small and strict instead: every parameter is checked, codes are single-use
and expire, tokens are random.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import secrets
import ssl
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

SCRIPT_PATH = "/w"
AUTHORIZE = f"{SCRIPT_PATH}/rest.php/oauth2/authorize"
TOKEN = f"{SCRIPT_PATH}/rest.php/oauth2/access_token"
PROFILE = f"{SCRIPT_PATH}/rest.php/oauth2/resource/profile"
CODE_LIFETIME = 600.0
# The lab daemon's files in its directory.
CONSUMER_FILE = "consumer.json"
ACCOUNTS_FILE = "accounts.json"
CERT_FILE = "meta.crt"
KEY_FILE = "meta.key"


@dataclass(frozen=True)
class WikiAccount:
    sub: int
    username: str
    editcount: int = 120
    confirmed_email: bool = True
    blocked: bool = False
    registered: str = "20150101000000"

    def profile(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "username": self.username,
            "editcount": self.editcount,
            "confirmed_email": self.confirmed_email,
            "blocked": self.blocked,
            "registered": self.registered,
            "groups": ["*", "user", "autoconfirmed"],
            "rights": ["read", "edit"],
        }


_LONG = "Wikimedian " + "\u00e9" * 122  # 11 + 244 = 255 bytes of UTF-8
LAB_ACCOUNTS: dict[str, WikiAccount] = {
    "plain": WikiAccount(1001, "Alice"),
    "non_ascii": WikiAccount(1002, "Ниж Đức 中文"),
    "spaces": WikiAccount(1003, "Jimbo Wales"),
    "longest": WikiAccount(1004, _LONG),
    "blocked": WikiAccount(1005, "Vandal", blocked=True),
    # Two names that are cut to the same localpart (they differ only past the limit).
    "collide_a": WikiAccount(1006, "Twin " + "x" * 240 + "A"),
    "collide_b": WikiAccount(1007, "Twin " + "x" * 240 + "B"),
    "renamed": WikiAccount(1008, "Old Name"),
    "newcomer": WikiAccount(1009, "Newcomer", editcount=0, confirmed_email=False),
}


@dataclass
class Consumer:
    client_id: str
    client_secret: str
    redirect_uri: str
    name: str = "wmx lab chat"
    # MediaWiki's "allow the consumer to specify a callback in requests and use the
    # callback URL above as a required prefix" (the lab's one consumer serves every site).
    callback_prefix: bool = False

    def callback(self, requested: str | None) -> str | None:
        """Where to send the code for a request naming ``requested``; None if refused."""
        if requested is None:
            return self.redirect_uri
        if requested == self.redirect_uri:
            return requested
        allowed = self.callback_prefix and requested.startswith(self.redirect_uri)
        return requested if allowed and urlsplit(requested).scheme == "https" else None


@dataclass
class _Grant:
    sub: int
    client_id: str
    redirect_uri: str
    expires: float
    challenge: str | None


@dataclass
class StandinState:
    consumer: Consumer
    accounts: dict[int, WikiAccount] = field(default_factory=dict)
    codes: dict[str, _Grant] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The lab daemon's accounts file and the (mtime, inode) it was last read at.
    accounts_file: Path | None = None
    accounts_stamp: tuple[int, int] = (0, 0)

    def reload(self) -> None:
        """Take the accounts file's accounts if it was replaced since it was last read."""
        if self.accounts_file is None:
            return
        try:
            stat = self.accounts_file.stat()
        except FileNotFoundError:
            return
        with self.lock:
            if (stat.st_mtime_ns, stat.st_ino) != self.accounts_stamp:
                self.accounts = {a.sub: a for a in read_accounts(self.accounts_file)}
                self.accounts_stamp = (stat.st_mtime_ns, stat.st_ino)

    def rename(self, sub: int, new_name: str) -> None:
        """A global rename on Meta: the same `sub`, a new user name."""
        self.change(sub, username=new_name)

    def change(self, sub: int, **fields: Any) -> None:
        """Change an account (blocked, editcount, …) as Meta's administrators would."""
        with self.lock:
            self.accounts[sub] = replace(self.accounts[sub], **fields)


def read_accounts(path: Path) -> list[WikiAccount]:
    return [WikiAccount(**entry) for entry in json.loads(path.read_text(encoding="utf-8"))]


def write_accounts(path: Path, accounts: Sequence[WikiAccount]) -> None:
    """Replace the accounts file in one step (a running daemon reads it whole or not)."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(json.dumps([asdict(a) for a in accounts], indent=1), encoding="utf-8")
    os.replace(scratch, path)


def _consent_page(consumer: Consumer, params: dict[str, str], accounts: list[WikiAccount]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
    )
    options = "".join(
        f'<option value="{a.sub}">{html.escape(a.username)}</option>' for a in accounts
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Meta (lab): allow "
        f"{html.escape(consumer.name)}</title></head><body><h1>{html.escape(consumer.name)}"
        " would like to verify your identity</h1><p>It cannot edit or act on your behalf."
        f"</p><form method='post' action='{AUTHORIZE}'>{hidden}<label>Logged in as "
        f"<select name='account' id='account'>{options}</select></label> "
        "<button type='submit' name='approve' value='1' id='approve'>Allow</button>"
        "</form></body></html>"
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, status: int, body: str, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, value: dict[str, Any]) -> None:
        self._send(status, json.dumps(value), "application/json")

    def _error(self, status: int, error: str, message: str) -> None:
        self._json(status, {"error": error, "message": message})

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 65536:
            return {}
        raw = self.rfile.read(length).decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == AUTHORIZE:
            self._authorize(query, approve=False)
        elif url.path == PROFILE:
            self._profile()
        else:
            self._error(404, "not_found", "no such endpoint")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        form = self._form()
        if url.path == AUTHORIZE:
            self._authorize(form, approve=form.get("approve") == "1")
        elif url.path == TOKEN:
            self._token(form)
        else:
            self._error(404, "not_found", "no such endpoint")

    def _authorize(self, params: dict[str, str], *, approve: bool) -> None:
        state = self.server.state
        state.reload()
        consumer = state.consumer
        if params.get("client_id") != consumer.client_id:
            self._error(400, "invalid_client", "unknown consumer")
            return
        redirect_uri = consumer.callback(params.get("redirect_uri"))
        if redirect_uri is None:
            self._error(400, "invalid_request", "redirect_uri is not the consumer's callback")
            return
        if params.get("response_type") != "code":
            self._error(400, "unsupported_response_type", "response_type must be code")
            return
        challenge = params.get("code_challenge")
        if challenge and params.get("code_challenge_method") != "S256":
            self._error(400, "invalid_request", "only S256 code challenges")
            return
        keep: dict[str, str] = {
            k: params[k]
            for k in ("client_id", "redirect_uri", "response_type", "state", "scope",
                      "code_challenge", "code_challenge_method")
            if k in params
        }  # fmt: skip
        with state.lock:
            accounts = sorted(state.accounts.values(), key=lambda a: a.sub)
        if not approve:
            self._send(200, _consent_page(consumer, keep, accounts), "text/html; charset=utf-8")
            return
        try:
            sub = int(params.get("account", ""))
        except ValueError:
            sub = -1
        if sub not in {a.sub for a in accounts}:
            self._error(400, "invalid_request", "no such account")
            return
        code = secrets.token_urlsafe(24)
        with state.lock:
            state.codes[code] = _Grant(
                sub, consumer.client_id, redirect_uri, time.monotonic() + CODE_LIFETIME, challenge
            )
        answer = {"code": code, **({"state": params["state"]} if "state" in params else {})}
        self._send(302, "", "text/plain", {"Location": f"{redirect_uri}?{urlencode(answer)}"})

    def _client(self, form: dict[str, str]) -> tuple[str, str]:
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return "", ""
            return user, password
        return form.get("client_id", ""), form.get("client_secret", "")

    def _token(self, form: dict[str, str]) -> None:
        state = self.server.state
        client_id, client_secret = self._client(form)
        if not (
            client_id == state.consumer.client_id
            and secrets.compare_digest(client_secret, state.consumer.client_secret)
        ):
            self._error(401, "invalid_client", "Client authentication failed")
            return
        if form.get("grant_type") != "authorization_code":
            self._error(400, "unsupported_grant_type", "authorization_code only")
            return
        with state.lock:
            grant = state.codes.pop(form.get("code", ""), None)  # single use
        if (
            grant is None
            or grant.expires < time.monotonic()
            or grant.client_id != client_id
            or form.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri
        ):
            self._error(400, "invalid_grant", "Authorization code is invalid or expired")
            return
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                self._error(400, "invalid_grant", "code_verifier does not match")
                return
        token = secrets.token_urlsafe(32)
        with state.lock:
            state.tokens[token] = grant.sub
        self._json(200, {"token_type": "Bearer", "expires_in": 3600, "access_token": token})

    def _profile(self) -> None:
        state = self.server.state
        state.reload()
        header = self.headers.get("Authorization", "")
        with state.lock:
            sub = state.tokens.get(header.removeprefix("Bearer "), None)
            account = state.accounts.get(sub) if sub is not None else None
        if account is None:
            self._error(
                401,
                "invalid_token",
                "The resource owner or authorization server denied the request.",
            )
            return
        self._json(200, account.profile())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: StandinState) -> None:
        super().__init__(address, _Handler)
        self.state = state


@dataclass
class MetaStandin:
    """A running stand-in; `base_url` is what login.wiki_url names."""

    server: _Server
    thread: threading.Thread
    base_url: str

    @property
    def state(self) -> StandinState:
        return self.server.state

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_standin(
    consumer: Consumer,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    name: str | None = None,
    cert: Path | None = None,
    key: Path | None = None,
) -> MetaStandin:
    """Serve the stand-in in a thread: https with `cert`/`key` (the lab CA's), else http."""
    state = StandinState(consumer, {a.sub: a for a in LAB_ACCOUNTS.values()})
    server = _Server((host, port), state)
    scheme = "http"
    if cert is not None and key is not None:
        _serve_tls(server, cert, key)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, name="meta-standin", daemon=True)
    thread.start()
    bound = server.server_address[1]
    return MetaStandin(server, thread, f"{scheme}://{name or host}:{bound}")


def _serve_tls(server: _Server, cert: Path, key: Path) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # The handshake happens in the request's thread (on its first read, under the
    # handler's timeout), so a client that connects and says nothing holds up no other.
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The lab daemon: serve DIRECTORY's consumer and accounts over TLS until killed."""
    parser = argparse.ArgumentParser(prog="python -m wmx.lab.wikimedia")
    parser.add_argument("--directory", type=Path, required=True)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    directory: Path = args.directory
    consumer = Consumer(**json.loads((directory / CONSUMER_FILE).read_text(encoding="utf-8")))
    state = StandinState(consumer, accounts_file=directory / ACCOUNTS_FILE)
    state.reload()
    server = _Server((args.listen, args.port), state)
    _serve_tls(server, directory / CERT_FILE, directory / KEY_FILE)
    print(f"serving https://{args.listen}:{args.port}{SCRIPT_PATH}/rest.php", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
