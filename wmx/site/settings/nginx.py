"""The proxy's settings: TLS (`tls:`) and the ACME account that obtains the certificate
(`acme:`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from wmx.site.grammars import check_email, check_url
from wmx.site.settings.section import Section

LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


class AcmeSettings(Section):
    email: str
    directory: str = LETS_ENCRYPT_DIRECTORY
    # Where the first order of a proxy host is rehearsed (a dry run: the test certificate
    # is not kept) before the real one, so that a failing first order costs nothing of
    # the real CA's rate limits. None: Let's Encrypt's staging directory when `directory`
    # is Let's Encrypt's, else no rehearsal; "": never rehearse.
    staging_directory: str | None = None

    _email = field_validator("email")(classmethod(lambda cls, v: check_email(v)))

    @field_validator("directory")
    @classmethod
    def _https(cls, value: str) -> str:
        return check_url(value)

    @field_validator("staging_directory")
    @classmethod
    def _staging_https(cls, value: str | None) -> str | None:
        return value if value in (None, "") else check_url(str(value))

    @property
    def rehearsal_directory(self) -> str:
        """The directory of the first order's rehearsal ("": none)."""
        if self.staging_directory is not None:
            return self.staging_directory
        return LETS_ENCRYPT_STAGING if self.directory == LETS_ENCRYPT_DIRECTORY else ""


class TlsSettings(Section):
    # Seconds browsers remember to use HTTPS only: 0 (off) to two years (what browsers'
    # preload lists ask for; longer only delays recovering from a mistake).
    hsts_max_age: int = Field(default=63072000, ge=0, le=63072000)
