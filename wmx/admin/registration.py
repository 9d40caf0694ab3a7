"""Create accounts with Synapse's shared-secret registration (the Admin API's bootstrap).

The secret and the password travel only in the HTTPS/loopback request body, never on a
command line.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import httpx

from wmx.errors import WmxError

REGISTER_PATH = "/_synapse/admin/v1/register"


@dataclass(frozen=True)
class Registered:
    user_id: str
    access_token: str
    device_id: str

    def __repr__(self) -> str:
        return f"Registered(user_id={self.user_id!r}, access_token=<hidden>)"


def registration_mac(shared_secret: str, nonce: str, user: str, password: str, admin: bool) -> str:
    # The MAC Synapse expects: HMAC-SHA1 over NUL-separated nonce, user, password, role.
    role = "admin" if admin else "notadmin"
    message = b"\x00".join(part.encode() for part in (nonce, user, password, role))
    return hmac.new(shared_secret.encode(), message, hashlib.sha1).hexdigest()


def register_user(
    base_url: str,
    shared_secret: str,
    localpart: str,
    password: str,
    *,
    admin: bool = False,
    displayname: str | None = None,
    client: httpx.Client | None = None,
) -> Registered:
    http = client or httpx.Client(base_url=base_url, timeout=30)
    try:
        nonce = http.get(REGISTER_PATH).raise_for_status().json()["nonce"]
        body: dict[str, object] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": registration_mac(shared_secret, nonce, localpart, password, admin),
        }
        if displayname:
            body["displayname"] = displayname
        response = http.post(REGISTER_PATH, json=body)
    except httpx.HTTPError as exc:
        raise WmxError(
            f"cannot reach Synapse's registration endpoint: {type(exc).__name__}"
        ) from None
    finally:
        if client is None:
            http.close()
    if response.status_code != 200:
        try:
            detail = response.json().get("error", response.text)
        except ValueError:
            detail = response.text
        raise WmxError(f"registering {localpart!r} failed ({response.status_code}): {detail}")
    data = response.json()
    return Registered(data["user_id"], data["access_token"], data.get("device_id", ""))
