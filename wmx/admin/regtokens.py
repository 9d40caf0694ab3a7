"""Registration tokens: how a chapter lets chosen people sign up while registration
stays closed to everyone else."""

from __future__ import annotations

from typing import Any, cast

from wmx.admin.http import V1, ApiGroup, endpoint
from wmx.admin.types import RegistrationToken


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
