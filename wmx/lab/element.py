"""A stand-in Element Web release archive for the lab.

The official archive comes from GitHub, which the lab cannot reach. The lab stands in
for it with an archive shaped exactly like a release (one directory
`element-v<version>/` with `index.html` and `version`) holding a placeholder page
(element_standin/index.html), so that the element role's install, checksum check,
release switch and rollback are tested for real. It is not a web client: the lab's real
client is Cinny (wmx/lab/cinny.py), which the browser tests drive.

The bytes are deterministic (fixed times, owners and order, gzip without a timestamp),
so rebuilding gives the same checksum and a second deploy changes nothing.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

LAB_ELEMENT_VERSION = "0.1.0-wmxlab"
# Every member's time stamp (2026-01-01 UTC): fixed, so that the bytes are too.
_MTIME = 1767225600
STANDIN_DIR = Path(__file__).with_name("element_standin")


def standin_files(version: str, note: str = "") -> dict[str, bytes]:
    """The release's files by path inside `element-v<version>/`."""
    page = (STANDIN_DIR / "index.html").read_text(encoding="utf-8")
    page = page.replace("@VERSION@", version + (f" ({note})" if note else ""))
    return {"index.html": page.encode(), "version": f"{version}\n".encode()}


def archive_bytes(version: str, note: str = "") -> bytes:
    top = f"element-v{version}"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        directory = tarfile.TarInfo(top)
        directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, _MTIME
        archive.addfile(directory)
        for name, data in sorted(standin_files(version, note).items()):
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, _MTIME
            archive.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as stream:
        stream.write(raw.getvalue())
    return packed.getvalue()


def write_standin_archive(
    directory: Path, version: str = LAB_ELEMENT_VERSION, note: str = ""
) -> Path:
    """`directory`/element-v<version>.tar.gz, rewritten only if its bytes differ."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"element-v{version}.tar.gz"
    data = archive_bytes(version, note)
    if path.is_file() and path.read_bytes() == data:
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return path
