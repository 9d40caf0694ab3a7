"""The Debian releases wmx deploys onto, and what differs between them: one table.

Everything release-specific lives here as data. The lab builds one rootfs per release
from it (wmx/lab/rootfs.py); the render hands the table to Ansible as the role variable
``wmx_debian_releases`` (wmx/render/plan.py), and playbooks/site.yml picks the host's
entry by its codename into ``wmx_debian`` once, before any role runs, so that roles read
``wmx_debian.postgresql`` rather than test the release with ``when:``.

Debian 13 (trixie) is the current stable release and the lab's default; Debian 12
(bookworm) is on LTS and stays supported so that existing servers keep deploying (and can
move with ``wmx upgrade os``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from wmx.errors import InputError


@dataclass(frozen=True)
class DebianRelease:
    """What wmx relies on in one Debian release (the versions Debian ships in it)."""

    codename: str
    version: str  # Debian's major version, as /etc/debian_version and Ansible report it
    postgresql: str  # the major version the `postgresql` metapackage installs
    python: str  # /usr/bin/python3, which the Synapse and IRC bridge venvs are made with
    borg: str  # borgbackup's major.minor (1.2 and 1.4 read and write the same repositories)
    security_suite: str  # the suite of the security archive
    systemd: int  # systemd's version: 256 and later deprecate cgroup v1 (the lab gives v2)
    nginx: str  # nginx's major.minor
    # How an HTTPS server of this nginx listens with HTTP/2 (the nginx role writes them into
    # /etc/nginx/snippets/wmx-listen-PORT.conf and wmx-http2.conf, which the rendered
    # server blocks include): nginx 1.25 deprecated the listen parameter "http2" for the
    # server directive "http2 on;", which 1.22 does not know.
    nginx_listen: str  # the parameters of `listen PORT …;`
    nginx_http2: str  # a server-level directive, or "" when the listen line does it

    def as_vars(self) -> dict[str, Any]:
        return asdict(self)


RELEASES: dict[str, DebianRelease] = {
    release.codename: release
    for release in (
        DebianRelease(
            codename="bookworm",
            version="12",
            postgresql="15",
            python="3.11",
            borg="1.2",
            security_suite="bookworm-security",
            systemd=252,
            nginx="1.22",
            nginx_listen="ssl http2",
            nginx_http2="",
        ),
        DebianRelease(
            codename="trixie",
            version="13",
            postgresql="17",
            python="3.13",
            borg="1.4",
            security_suite="trixie-security",
            systemd=257,
            nginx="1.26",
            nginx_listen="ssl",
            nginx_http2="http2 on;",
        ),
    )
}

# What a new lab host runs unless told otherwise (`wmx lab up --release`).
DEFAULT_RELEASE = "trixie"

# In the order an in-place upgrade walks them (`wmx upgrade os`): each one's successor.
NEXT_RELEASE = {"bookworm": "trixie"}


def release(name: str) -> DebianRelease:
    """The release named ``name`` (a codename such as trixie, or a version such as 13)."""
    for candidate in RELEASES.values():
        if name in (candidate.codename, candidate.version):
            return candidate
    known = ", ".join(f"{r.codename} ({r.version})" for r in RELEASES.values())
    raise InputError(f"unknown Debian release {name!r}: wmx supports {known}")


def role_vars() -> dict[str, Any]:
    """The table as Ansible sees it: ``wmx_debian_releases[codename]``."""
    return {codename: entry.as_vars() for codename, entry in RELEASES.items()}
