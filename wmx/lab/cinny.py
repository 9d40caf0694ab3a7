"""Cinny, a real Matrix web client, for sites in the lab.

Production downloads Cinny's release archive (`cinny-v<version>.tar.gz`) from GitHub,
which the lab cannot reach. The project's shared directory holds that release built
unchanged from its official source and packed the same way (`../shared/clients/` beside
a source checkout, or `$WMX_LAB_CLIENTS`), with a `SHA256SUMS`. The lab checks the
archive against that list and points a site's `web_client.archive` at it: the site then
installs it exactly as it would install a downloaded release, checksum included.

`repack` makes a second release from it (the same app under another version string),
for switching releases and rolling back.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wmx.lab.errors import LabError

LAB_CINNY_VERSION = "4.2.2"
CLIENTS_ENV = "WMX_LAB_CLIENTS"
# Every repacked member's time stamp (2026-01-01 UTC): fixed, so that the bytes are too.
_MTIME = 1767225600


@dataclass(frozen=True)
class ClientArchive:
    """A web client's release archive on this machine, with its checked SHA-256."""

    path: Path
    version: str
    sha256: str


# The project's shared directory on the machines it is developed and tested on: a clone
# made elsewhere (CI's clean clone, a scratch checkout) still finds the archives there.
SHARED_CLIENTS = Path("/work/shared/clients")


def clients_dir() -> Path:
    """Where the shared client archives are: $WMX_LAB_CLIENTS, else `shared/clients`
    beside the source checkout wmx runs from, else the project's shared directory."""
    named = os.environ.get(CLIENTS_ENV)
    if named:
        return Path(named)
    checkout = Path(__file__).resolve().parents[2]
    candidates = (checkout.parent / "shared" / "clients", SHARED_CLIENTS)
    for candidate in candidates:
        if (candidate / "SHA256SUMS").is_file():
            return candidate
    return candidates[0]


def _whole(path: Path, tries: int = 5) -> bytes:
    """Every byte of `path` up to its size.

    Two whole-suite runs here read the shared archive (unchanged, ctime before the run)
    to an end 120 bytes before its size, and the next reads were whole: a read that ends
    early is taken up again where it stopped, a few times, before the short content is
    returned (and then refused by its digest).
    """
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        data = bytearray(handle.read())
        for _ in range(tries - 1):
            if len(data) >= size:
                break
            time.sleep(0.2)
            data += os.pread(handle.fileno(), size - len(data), len(data))
    return bytes(data)


def _sha256(path: Path) -> tuple[str, int]:
    """The SHA-256 of what reading `path` gave, and how many bytes that was."""
    data = _whole(path)
    return hashlib.sha256(data).hexdigest(), len(data)


def listed_sha256(directory: Path, name: str) -> str:
    """The SHA-256 that `directory`/SHA256SUMS lists for `name`."""
    sums = directory / "SHA256SUMS"
    try:
        lines = sums.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise LabError(f"{sums}: cannot read the client archives' checksums ({error})") from None
    for line in lines:
        fields = line.split()
        if len(fields) == 2 and fields[1].lstrip("*") == name:
            return fields[0].lower()
    raise LabError(f"{sums} lists no checksum for {name}")


def cinny_archive(directory: Path | None = None) -> ClientArchive:
    """The shared Cinny release, checked against SHA256SUMS (a damaged or replaced
    archive is refused here, before any site points at it)."""
    directory = directory or clients_dir()
    name = f"cinny-v{LAB_CINNY_VERSION}.tar.gz"
    path = directory / name
    if not path.is_file():
        raise LabError(
            f"{path}: Cinny's release archive is missing; the lab installs it where "
            f"production downloads a release (set ${CLIENTS_ENV} to the directory holding "
            f"{name} and SHA256SUMS)"
        )
    expected = listed_sha256(directory, name)
    actual, read = _sha256(path)
    if actual != expected:
        # Bytes read beside size and change time tell a read that ended early or a file
        # changed while it was read from one damaged or replaced (see _whole).
        now = path.stat()
        changed = datetime.fromtimestamp(now.st_ctime, UTC).isoformat(timespec="seconds")
        raise LabError(
            f"{path}: its SHA-256 is {actual} ({read} bytes read; the file has "
            f"{now.st_size}, changed {changed}), but SHA256SUMS says {expected}"
        )
    return ClientArchive(path=path.resolve(), version=LAB_CINNY_VERSION, sha256=actual)


def repack(source: ClientArchive, directory: Path, version: str) -> ClientArchive:
    """`directory`/cinny-v<version>.tar.gz: the same release under another version
    (its top directory and `version` file), deterministic to the byte."""
    old_top, new_top = f"cinny-v{source.version}", f"cinny-v{version}"
    raw = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(_whole(source.path)), mode="r:gz") as original,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as copy,
    ):
        for member in original:
            parts = member.name.split("/", 1)
            if parts[0] != old_top:
                raise LabError(f"{source.path}: {member.name} is outside {old_top}/")
            member.name = "/".join([new_top, *parts[1:]])
            member.mtime, member.uid, member.gid, member.uname, member.gname = (
                _MTIME, 0, 0, "root", "root",
            )  # fmt: skip
            content = original.extractfile(member) if member.isfile() else None
            if member.name == f"{new_top}/version":
                text = f"{version}\n".encode()
                member.size = len(text)
                content = io.BytesIO(text)
            copy.addfile(member, content)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{new_top}.tar.gz"
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0, filename="") as stream:
        stream.write(raw.getvalue())
    data = packed.getvalue()
    if not (path.is_file() and path.read_bytes() == data):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o644)
        os.replace(tmp, path)
    return ClientArchive(path=path, version=version, sha256=hashlib.sha256(data).hexdigest())
