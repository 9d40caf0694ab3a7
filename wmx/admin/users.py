"""Accounts: list, inspect, create, change, deactivate, redact (Synapse's user Admin API)."""

from __future__ import annotations

import secrets
from typing import Any, Literal, TypedDict, Unpack, cast

from wmx.admin.http import (
    LISTING_PAGE_SIZE,
    PAGE_SIZE,
    V1,
    V2,
    ApiGroup,
    Listing,
    NotFoundError,
    PageStream,
    endpoint,
)
from wmx.admin.ids import lowercase_user_id
from wmx.admin.types import Device, RedactStatus, UserDetails, UserSummary, Whois


def generate_password() -> str:
    """A password wmx makes for a person's account, shown to the operator once: 20
    URL-safe characters (120 random bits)."""
    return secrets.token_urlsafe(15)


# The flags an account can carry that wmx sets and clears as a pair of commands.
AccountFlag = Literal["locked", "suspended", "shadow_banned"]


def _unknown(user_id: str, *, checked: bool | None = None) -> str:
    """The 404 message; for an id with capitals, whether its lowercase form exists
    (`checked`, None when not looked up), since Synapse registers names in lowercase."""
    plain = f"unknown user {user_id} (no such account on this homeserver)"
    lowered = lowercase_user_id(user_id)
    if lowered is None or checked is False:
        return plain
    if checked:
        return (
            f"{plain}; Synapse registers names in lowercase, and {lowered} exists: did you mean it?"
        )
    return f"{plain}; Synapse registers names in lowercase: is it {lowered}?"


def connections(info: Whois) -> list[dict[str, Any]]:
    """Each connection of a whois answer, one row a connection with its `device`."""
    return [
        {"device": device, **connection}
        for device, body in (info.get("devices") or {}).items()
        for session in body.get("sessions", [])
        for connection in session.get("connections", [])
    ]


def _creation_in_ms(details: UserDetails) -> UserDetails:
    # The listing gives creation_ts in milliseconds, the single-user query in seconds:
    # wmx gives milliseconds everywhere, like every other Matrix timestamp.
    created = details.get("creation_ts")
    if isinstance(created, int) and 0 < created < 10**11:
        details["creation_ts"] = created * 1000
    return details


class UserFilters(TypedDict, total=False):
    guests: bool  # include guest accounts
    deactivated: bool  # include deactivated accounts
    admins_only: bool
    name: str | None  # ids or display names containing this
    limit: int | None
    order_by: str


class UsersApi(ApiGroup):
    def listing(self, **filters: Unpack[UserFilters]) -> Listing[UserSummary]:
        """Local accounts; guests and deactivated accounts only when asked for."""
        return self.pages(page_size=PAGE_SIZE, **filters).collect()

    def pages(
        self, *, page_size: int = LISTING_PAGE_SIZE, **filters: Unpack[UserFilters]
    ) -> PageStream[UserSummary]:
        """`listing` in large pages, each fetched as the caller iterates (for display)."""
        params = {
            "guests": filters.get("guests", False),
            "deactivated": filters.get("deactivated", False),
            "admins": True if filters.get("admins_only") else None,
            "name": filters.get("name"),
            "order_by": filters.get("order_by", "name"),
        }
        return cast(
            PageStream[UserSummary],
            self._http.pages(
                f"{V2}/users",
                "users",
                params=params,
                limit=filters.get("limit"),
                page_size=page_size,
            ),
        )

    def get(self, user_id: str) -> UserDetails:
        """The account's details. An unknown id holding capitals is looked up in
        lowercase too, to name the account meant (never to act on it in its place:
        accounts made by older releases may have capitals)."""
        path = endpoint(V2 + "/users/{}", user_id)
        try:
            details = cast(UserDetails, self._http.get(path))
        except NotFoundError:
            lowered = lowercase_user_id(user_id)
            found = None if lowered is None else self._found(lowered)
            raise NotFoundError(_unknown(user_id, checked=found)) from None
        return _creation_in_ms(details)

    def _found(self, user_id: str) -> bool:
        try:
            self._http.get(endpoint(V2 + "/users/{}", user_id))
        except NotFoundError:
            return False
        return True

    def exists(self, user_id: str) -> bool:
        return self._found(user_id)

    def put(self, user_id: str, body: dict[str, Any]) -> UserDetails:
        """Create the account, or change the given fields of an existing one."""
        return cast(UserDetails, self._http.put(endpoint(V2 + "/users/{}", user_id), json=body))

    def create(
        self,
        user_id: str,
        password: str,
        *,
        admin: bool = False,
        displayname: str | None = None,
        email: str | None = None,
    ) -> UserDetails:
        body: dict[str, Any] = {"password": password, "admin": admin}
        if displayname:
            body["displayname"] = displayname
        if email:
            body["threepids"] = [{"medium": "email", "address": email}]
        return self.put(user_id, body)

    def reset_password(self, user_id: str, password: str, *, logout_devices: bool = True) -> None:
        self._http.post(
            endpoint(V1 + "/reset_password/{}", user_id),
            json={"new_password": password, "logout_devices": logout_devices},
            not_found=_unknown(user_id),
        )

    def set_admin(self, user_id: str, admin: bool) -> None:
        self._http.put(
            endpoint(V1 + "/users/{}/admin", user_id),
            json={"admin": admin},
            not_found=_unknown(user_id),
        )

    def deactivate(self, user_id: str, *, erase: bool = False) -> None:
        self._http.post(
            endpoint(V1 + "/deactivate/{}", user_id),
            json={"erase": erase},
            not_found=_unknown(user_id),
        )

    def set_locked(self, user_id: str, locked: bool) -> None:
        self.put(user_id, {"locked": locked})

    def set_suspended(self, user_id: str, suspended: bool) -> None:
        self._http.put(
            endpoint(V1 + "/suspend/{}", user_id),
            json={"suspend": suspended},
            not_found=_unknown(user_id),
        )

    def set_shadow_banned(self, user_id: str, banned: bool) -> None:
        path = endpoint(V1 + "/users/{}/shadow_ban", user_id)
        if banned:
            self._http.post(path, not_found=_unknown(user_id))
        else:
            self._http.delete(path, not_found=_unknown(user_id))

    def set_flag(self, flag: AccountFlag, user_id: str, value: bool) -> None:
        """Set or clear one of the account flags (`wmx user lock`, `suspend`, `shadow-ban`)."""
        setters = {
            "locked": self.set_locked,
            "suspended": self.set_suspended,
            "shadow_banned": self.set_shadow_banned,
        }
        setters[flag](user_id, value)

    def devices(self, user_id: str) -> list[Device]:
        return self._http.get_list(
            endpoint(V2 + "/users/{}/devices", user_id), "devices", not_found=_unknown(user_id)
        )

    def delete_devices(self, user_id: str, device_ids: list[str]) -> None:
        self._http.post(
            endpoint(V2 + "/users/{}/delete_devices", user_id),
            json={"devices": device_ids},
            not_found=_unknown(user_id),
        )

    def whois(self, user_id: str) -> Whois:
        return cast(
            Whois,
            self._http.get(endpoint(V1 + "/whois/{}", user_id), not_found=_unknown(user_id)),
        )

    def joined_rooms(self, user_id: str) -> list[str]:
        return self._http.get_list(
            endpoint(V1 + "/users/{}/joined_rooms", user_id),
            "joined_rooms",
            not_found=_unknown(user_id),
        )

    def start_redaction(
        self, user_id: str, *, rooms: list[str] | None = None, reason: str | None = None
    ) -> str:
        """Redact the user's events (in every room they are or were in, unless `rooms`);
        Synapse works in the background: returns the redaction id to poll."""
        body: dict[str, Any] = {"rooms": rooms or []}
        if reason:
            body["reason"] = reason
        data = self._http.post(
            endpoint(V1 + "/user/{}/redact", user_id), json=body, keys=("redact_id",)
        )
        return str(data["redact_id"])

    def redaction_status(self, redact_id: str) -> RedactStatus:
        return cast(
            RedactStatus,
            self._http.get(
                endpoint(V1 + "/user/redact_status/{}", redact_id),
                not_found=f"unknown redaction {redact_id}",
            ),
        )
