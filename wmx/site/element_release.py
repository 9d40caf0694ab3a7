"""Which Element Web release a site installs: the pinned one, another with its checksum,
or a local archive, whose version and checksum come from the file itself.

Resolved when the site is loaded (`wmx.site.Site`), so that a wrong or damaged archive
stops every command before anything is rendered, and rendering reads no file.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from wmx.errors import InputError
from wmx.site.model import SiteConfig
from wmx.site.releases import DEFAULT_ELEMENT_VERSION, ELEMENT_RELEASE_URL

_ARCHIVE_DIR = re.compile(r"^element-v(\d+\.\d+\.\d+[a-z0-9.-]*)$")


@dataclass(frozen=True)
class ElementRelease:
    """The Element Web release to install, and where it comes from."""

    version: str
    sha256: str
    url: str | None  # downloaded on the host, or
    archive: Path | None  # copied from the operator's machine

    @property
    def name(self) -> str:
        """Its directory under the element role's releases directory: the version and the
        archive's checksum, so that a rebuilt archive of the same version is never
        mistaken for the installed one."""
        return f"{self.version}-{self.sha256[:12]}"


@dataclass(frozen=True)
class ArchiveFacts:
    version: str
    sha256: str


@lru_cache(maxsize=8)
def _archive_facts(path: str, size: int, mtime_ns: int) -> ArchiveFacts:
    """The version and SHA-256 of an Element release archive (cached per file state)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    tops: set[str] = set()
    has_index = False
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                parts = Path(member.name).parts
                if parts and parts[0] != ".":
                    tops.add(parts[0])
                if len(parts) == 2 and parts[1] == "index.html" and member.isfile():
                    has_index = True
    except (tarfile.TarError, OSError, EOFError) as error:
        raise InputError(f"element.archive {path}: not a .tar.gz archive ({error})") from None
    match = _ARCHIVE_DIR.match(next(iter(tops))) if len(tops) == 1 else None
    if match is None or not has_index:
        raise InputError(
            f"element.archive {path}: not an Element Web release archive; it must hold one "
            "directory element-v<version>/ with index.html in it, as the official "
            "element-v<version>.tar.gz does"
        )
    return ArchiveFacts(version=match.group(1), sha256=digest.hexdigest())


def element_release(config: SiteConfig, site_root: Path) -> ElementRelease:
    """What `element` in wmx.yaml asks for: the pinned release, another one with its
    checksum, or a local archive (whose version and checksum come from the file)."""
    settings = config.element
    if settings.archive is None:
        version = settings.version or DEFAULT_ELEMENT_VERSION
        sha256 = settings.pinned_sha256
        assert sha256 is not None  # the model insists on a checksum without an archive
        return ElementRelease(version, sha256, ELEMENT_RELEASE_URL.format(version=version), None)
    path = Path(settings.archive).expanduser()
    if not path.is_absolute():
        path = site_root / path
    if not path.is_file():
        raise InputError(f"element.archive {path}: no such file on this machine")
    stat = path.stat()
    facts = _archive_facts(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if settings.version is not None and settings.version != facts.version:
        raise InputError(
            f"element.archive {path} holds Element {facts.version}, but element.version "
            f"says {settings.version}"
        )
    if settings.sha256 is not None and settings.sha256 != facts.sha256:
        raise InputError(
            f"element.archive {path}: its SHA-256 is {facts.sha256}, but element.sha256 "
            f"says {settings.sha256}; the file is not the release you pinned (or it is "
            "damaged). Nothing was deployed; the running Element stays as it is"
        )
    return ElementRelease(facts.version, facts.sha256, None, path.resolve())
