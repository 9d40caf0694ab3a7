"""The proxy's settings: TLS (`tls:`) and the ACME account that obtains the certificate
(`acme:`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from wmx.site.grammars import Strict, check_email, check_url

LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"


class AcmeSettings(Strict):
    email: str
    directory: str = LETS_ENCRYPT_DIRECTORY

    _email = field_validator("email")(classmethod(lambda cls, v: check_email(v)))

    @field_validator("directory")
    @classmethod
    def _https(cls, value: str) -> str:
        return check_url(value)


class TlsSettings(Strict):
    # Seconds browsers remember to use HTTPS only: 0 (off) to two years (what browsers'
    # preload lists ask for; longer only delays recovering from a mistake).
    hsts_max_age: int = Field(default=63072000, ge=0, le=63072000)
