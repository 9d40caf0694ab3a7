"""Which web client release a site installs (Element Web or Cinny, `web_client.kind`): the
pinned one, another with its checksum, or a local archive, whose client, version and
checksum come from the file itself.

Resolved when the site is loaded (`wmx.site.Site`), so that a wrong or damaged archive
stops every command before anything is rendered, and rendering reads no file.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import re
import stat
import tarfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from wmx.errors import InputError
from wmx.site.grammars import no_control
from wmx.site.model import SiteConfig
from wmx.site.releases import CINNY_INLINE_SCRIPT_HASHES, DEFAULT_RELEASES, RELEASE_URLS
from wmx.site.settings.web_client import CLIENT_NAMES, WEB_CLIENT_VERSION

# The version in the directory's name is held to web_client.version's grammar (a bounded
# suffix): it names the release's directory on the hosts, and is compared with that.
_ARCHIVE_DIR = re.compile(rf"(element|cinny)-v({WEB_CLIENT_VERSION.pattern})", re.ASCII)
# Inline scripts (no src attribute) of index.html, which a CSP must allow by hash.
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)
_INDEX_MAX = 1 << 20


@dataclass(frozen=True)
class WebClientRelease:
    """The web client release to install, and where it comes from."""

    kind: str  # "element" or "cinny"
    version: str
    sha256: str
    url: str | None  # downloaded on the host, or
    archive: Path | None  # copied from the operator's machine
    # CSP sources ('sha256-…') allowing the inline scripts of its index.html.
    inline_scripts: tuple[str, ...] = ()

    @property
    def client_name(self) -> str:
        return CLIENT_NAMES[self.kind]

    @property
    def name(self) -> str:
        """Its directory under the element role's releases directory: the version and the
        archive's checksum, so that a rebuilt archive of the same version is never
        mistaken for the installed one (Cinny's also named after the client)."""
        prefix = "" if self.kind == "element" else f"{self.kind}-"
        return f"{prefix}{self.version}-{self.sha256[:12]}"


@dataclass(frozen=True)
class ArchiveFacts:
    kind: str
    version: str
    sha256: str
    inline_scripts: tuple[str, ...]


def _script_hashes(index: bytes) -> tuple[str, ...]:
    text = index.decode("utf-8", errors="replace")
    return tuple(
        "sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        for body in _INLINE_SCRIPT.findall(text)
    )


# Official releases hold some hundreds of files and tens of MB (Cinny 4.2: 59, 31 MB).
_MAX_MEMBERS = 100_000
_MAX_UNPACKED = 2 << 30
# Mode bits no file of a web client needs: setuid, setgid, sticky, and write for group
# or others. Root's tar on the hosts keeps an archive's modes, so a world-writable file
# there would let any account of the proxy host change the JavaScript it serves.
_REFUSED_MODE = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWGRP | stat.S_IWOTH


def _escapes(name: str) -> bool:
    """An absolute name, or one with a `..` part: it could leave the directory unpacked."""
    return name.startswith("/") or ".." in PurePosixPath(name).parts


def _member_problem(member: tarfile.TarInfo, count: int, total: int) -> str | None:
    """Why the hosts must not unpack `member` (the `count`th, `total` bytes so far)."""
    name = member.name
    shown = repr(name[:80])
    if count > _MAX_MEMBERS or total > _MAX_UNPACKED:
        return f"more than {_MAX_MEMBERS:,} files or {_MAX_UNPACKED >> 30} GiB unpacked"
    try:  # a line break in a name would split every line that names the file
        no_control(name, "file name")
        no_control(member.linkname, "link target")
    except ValueError:
        return f"member {shown} has a control character in its name or link target"
    if _escapes(name):
        return f"member {shown} lies outside the directory it is unpacked into"
    # A link stays in the release's directory: the hosts unpack its content alone
    # (--strip-components=1), so the directory above it is outside too.
    top = PurePosixPath(name).parts[0] + "/" if PurePosixPath(name).parts else "/"
    if member.issym():
        target = posixpath.normpath(str(PurePosixPath(name).parent / member.linkname))
        if member.linkname.startswith("/") or _escapes(target) or not target.startswith(top):
            return f"symbolic link {shown} points outside the release's directory"
    elif member.islnk():
        target = member.linkname
        if _escapes(target) or not posixpath.normpath(target).startswith(top):
            return f"hard link {shown} points outside the release's directory"
    elif not (member.isfile() or member.isdir()):
        return f"member {shown} is a device or FIFO"
    # A symbolic link's own mode is never used (0777 in every archive).
    if not member.issym() and member.mode & _REFUSED_MODE:
        return (
            f"member {shown} has mode {member.mode & 0o7777:04o} (setuid, setgid, sticky or "
            "writable by group or others)"
        )
    return None


@lru_cache(maxsize=8)
def _archive_facts(path: str, size: int, mtime_ns: int) -> ArchiveFacts:
    """The client, version, SHA-256 and inline scripts of a web client release archive
    (cached per file state)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    tops: set[str] = set()
    index: bytes | None = None
    total = count = 0
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                count, total = count + 1, total + max(member.size, 0)
                problem = _member_problem(member, count, total)
                if problem:
                    raise InputError(
                        f"web_client.archive {path}: {problem}; not a web client release "
                        "archive (the hosts would unpack it as root)"
                    )
                parts = Path(member.name).parts
                if parts and parts[0] != ".":
                    tops.add(parts[0])
                if len(parts) == 2 and parts[1] == "index.html" and member.isfile():
                    content = archive.extractfile(member)
                    index = content.read(_INDEX_MAX) if content is not None else b""
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise InputError(f"web_client.archive {path}: not a .tar.gz archive ({error})") from None
    match = _ARCHIVE_DIR.fullmatch(next(iter(tops))) if len(tops) == 1 else None
    if match is None or index is None:
        raise InputError(
            f"web_client.archive {path}: not a web client release archive; it must hold one "
            "directory element-v<version>/ or cinny-v<version>/ with index.html in it, as "
            "the official element-v<version>.tar.gz and cinny-v<version>.tar.gz do"
        )
    return ArchiveFacts(
        kind=match.group(1),
        version=match.group(2),
        sha256=digest.hexdigest(),
        inline_scripts=_script_hashes(index),
    )


def local_archive(archive: str, site_root: Path) -> tuple[Path, ArchiveFacts]:
    """web_client.archive's file and what it holds, checked as an archive of its own (not
    against web_client.kind, .version and .sha256: element_release does that)."""
    path = Path(archive).expanduser()
    if not path.is_absolute():
        path = site_root / path
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such file on this machine"
        raise InputError(f"web_client.archive {path}: {what}")
    stat = path.stat()
    return path, _archive_facts(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def element_release(config: SiteConfig, site_root: Path) -> WebClientRelease:
    """What `web_client` in wmx.yaml asks for: the pinned release of its kind, another one
    with its checksum, or a local archive (whose version and checksum come from the file)."""
    settings = config.web_client
    kind, name = settings.kind, settings.client_name
    if settings.archive is None:
        version = settings.version or DEFAULT_RELEASES[kind][0]
        sha256 = settings.pinned_sha256
        assert sha256 is not None  # the model insists on a checksum without an archive
        scripts = CINNY_INLINE_SCRIPT_HASHES.get(version, ()) if kind == "cinny" else ()
        url = RELEASE_URLS[kind].format(version=version)
        return WebClientRelease(kind, version, sha256, url, None, scripts)
    path, facts = local_archive(settings.archive, site_root)
    if facts.kind != kind:
        raise InputError(
            f"web_client.archive {path} holds {CLIENT_NAMES[facts.kind]} {facts.version}, but "
            f"web_client.kind is {kind}"
        )
    if settings.version is not None and settings.version != facts.version:
        raise InputError(
            f"web_client.archive {path} holds {name} {facts.version}, but "
            f"web_client.version says {settings.version}"
        )
    if settings.sha256 is not None and settings.sha256 != facts.sha256:
        raise InputError(
            f"web_client.archive {path}: its SHA-256 is {facts.sha256}, but "
            f"web_client.sha256 says {settings.sha256}; the file is not the release you "
            f"pinned (or it is damaged). Nothing was deployed; the running {name} stays as "
            "it is"
        )
    return WebClientRelease(
        kind, facts.version, facts.sha256, None, path.resolve(), facts.inline_scripts
    )
