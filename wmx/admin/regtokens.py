"""Registration tokens: how a chapter lets chosen people sign up while registration
stays closed to everyone else."""

from __future__ import annotations

import secrets
import string
from typing import Any, cast

from wmx.admin.http import V1, ApiGroup, endpoint
from wmx.admin.types import RegistrationToken
from wmx.errors import InputError

# Synapse's rule for tokens chosen by hand.
DEFAULT_LENGTH = 16
# wmx draws random tokens itself: letters and digits only, so that a token never starts
# with '-' (which a shell command would read as an option) or needs quoting.
_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int = DEFAULT_LENGTH) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def token_changes(
    *, uses: int | None, unlimited: bool, expiry_ms: int | None, no_expiry: bool
) -> dict[str, int | None]:
    """The fields `wmx regtoken update` sends: `uses_allowed` and `expiry_time`, each
    only when asked for, None for unlimited / never. Contradictions and an empty change
    are input errors."""
    if uses is not None and unlimited:
        raise InputError("give --uses N or --unlimited, not both")
    if expiry_ms is not None and no_expiry:
        raise InputError("give --expires DATE or --no-expiry, not both")
    changes: dict[str, int | None] = {}
    if uses is not None or unlimited:
        changes["uses_allowed"] = uses
    if expiry_ms is not None or no_expiry:
        changes["expiry_time"] = expiry_ms
    if not changes:
        raise InputError("nothing to change: give --uses, --unlimited, --expires or --no-expiry")
    return changes


def _unknown(token: str) -> str:
    return f"unknown registration token {token!r}"


class RegistrationTokensApi(ApiGroup):
    def listing(self, *, valid: bool | None = None) -> list[RegistrationToken]:
        data = self._http.get(f"{V1}/registration_tokens", params={"valid": valid})
        return cast(list[RegistrationToken], data.get("registration_tokens", []))

    def get(self, token: str) -> RegistrationToken:
        return cast(
            RegistrationToken,
            self._http.get(
                endpoint(V1 + "/registration_tokens/{}", token), not_found=_unknown(token)
            ),
        )

    def create(
        self,
        *,
        token: str | None = None,
        uses_allowed: int | None = None,
        expiry_ms: int | None = None,
        length: int | None = None,
    ) -> RegistrationToken:
        body: dict[str, Any] = {"uses_allowed": uses_allowed, "expiry_time": expiry_ms}
        if token:
            body["token"] = token
        elif length:
            body["length"] = length
        return cast(RegistrationToken, self._http.post(f"{V1}/registration_tokens/new", json=body))

    def update(self, token: str, changes: dict[str, int | None]) -> RegistrationToken:
        """`changes` may set uses_allowed and expiry_time; None means unlimited / never."""
        return cast(
            RegistrationToken,
            self._http.put(
                endpoint(V1 + "/registration_tokens/{}", token),
                json=changes,
                not_found=_unknown(token),
            ),
        )

    def delete(self, token: str) -> None:
        self._http.delete(
            endpoint(V1 + "/registration_tokens/{}", token), not_found=_unknown(token)
        )
