"""What a Synapse release says about itself: PyPI's metadata and files of its wheel.

`wmx upgrade plan` reads, for the running and the target release:
- Requires-Python, from PyPI's JSON metadata of the project (each file carries it);
- the database schema versions the release writes and stays compatible with
  (`SCHEMA_VERSION`, `SCHEMA_COMPAT_VERSION` in synapse/storage/schema/__init__.py);
- the oldest PostgreSQL it starts on (the check in synapse/storage/engines/postgres.py).
The two files come from the release's wheel, downloaded from PyPI and read as a zip,
never installed or run. What was read is cached under the site's .wmx/cache/synapse/.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from packaging.version import InvalidVersion, Version

from wmx.errors import WmxError
from wmx.site.grammars import RELEASE_VERSION
from wmx.site.placed import open_directory
from wmx.site.state_files import STATE_PLACE, load_optional, write_state

PROJECT = "matrix-synapse"
PYPI_JSON = "https://pypi.org/pypi/{project}/json"
SCHEMA_FILE = "synapse/storage/schema/__init__.py"
POSTGRES_FILE = "synapse/storage/engines/postgres.py"
_POSTGRES_MIN = re.compile(r"requires PostgreSQL (\d+)(?:\.\d+)? or above")
_TIMEOUT = 60.0


class ReleaseError(WmxError):
    """PyPI or a release's files could not be read."""


@dataclass(frozen=True)
class Schema:
    version: int  # SCHEMA_VERSION: what this release writes
    compat: int  # SCHEMA_COMPAT_VERSION: the oldest code version that can read it


@dataclass(frozen=True)
class ReleaseFacts:
    version: str
    requires_python: str | None
    schema: Schema
    postgres_min: int | None  # major version, or None when the release does not say


def parse_schema(text: str) -> Schema:
    """SCHEMA_VERSION and SCHEMA_COMPAT_VERSION from the module's source (a literal each)."""
    found: dict[str, int] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in (
                "SCHEMA_VERSION",
                "SCHEMA_COMPAT_VERSION",
            ):
                value = ast.literal_eval(node.value)
                if type(value) is int:
                    found[target.id] = value
    if set(found) != {"SCHEMA_VERSION", "SCHEMA_COMPAT_VERSION"}:
        raise ReleaseError(f"{SCHEMA_FILE}: no literal SCHEMA_VERSION/SCHEMA_COMPAT_VERSION")
    return Schema(found["SCHEMA_VERSION"], found["SCHEMA_COMPAT_VERSION"])


def parse_postgres_min(text: str) -> int | None:
    """The PostgreSQL major version the release refuses to start below (None: not said)."""
    match = _POSTGRES_MIN.search(text)
    return int(match.group(1)) if match else None


def sort_key(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        return Version("0")


class PyPI:
    """Reads the project's metadata once, and wheels on demand; caches under `cache`."""

    def __init__(
        self,
        cache: Path,
        *,
        project: str = PROJECT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.cache = cache
        self.project = project
        self.url = PYPI_JSON.format(project=project)
        self._client = httpx.Client(timeout=_TIMEOUT, transport=transport, follow_redirects=True)
        self._metadata: dict[str, Any] | None = None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PyPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            try:
                response = self._client.get(self.url)
                response.raise_for_status()
                data = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise ReleaseError(f"PyPI ({self.url}): {exc}") from None
            if not isinstance(data, dict) or not isinstance(data.get("releases"), dict):
                raise ReleaseError(f"PyPI ({self.url}): not a project's JSON metadata")
            self._metadata = data
        return self._metadata

    def releases(self) -> list[str]:
        """Every final release with files, oldest first (no pre-releases, none yanked).
        A version is written as a release number, as wmx.yaml has it: it becomes a venv's
        path in scripts run as root, and the metadata is what the network answered."""
        out = []
        for version, files in self.metadata()["releases"].items():
            if not files or all(f.get("yanked") for f in files):
                continue
            if not (isinstance(version, str) and RELEASE_VERSION.fullmatch(version)):
                continue
            try:
                parsed = Version(version)
            except InvalidVersion:
                continue
            if not parsed.is_prerelease and not parsed.is_devrelease:
                out.append(version)
        return sorted(out, key=sort_key)

    def latest(self) -> str:
        releases = self.releases()
        if not releases:
            raise ReleaseError(f"PyPI lists no release of {self.project}")
        return releases[-1]

    def files(self, version: str) -> list[dict[str, Any]]:
        files = self.metadata()["releases"].get(version)
        if not files:
            raise ReleaseError(f"{self.project} {version} is not on PyPI")
        return [f for f in files if isinstance(f, dict)]

    def requires_python(self, version: str) -> str | None:
        for entry in self.files(version):
            if entry.get("requires_python"):
                return str(entry["requires_python"])
        return None

    def _wheel(self, version: str) -> dict[str, Any]:
        wheels = [f for f in self.files(version) if str(f.get("filename", "")).endswith(".whl")]
        if not wheels:
            raise ReleaseError(f"{self.project} {version}: no wheel on PyPI to read")
        # Every wheel of a release carries the same Python sources: take the smallest.
        return min(wheels, key=lambda f: int(f.get("size") or 0))

    def release_files(self, version: str) -> dict[str, str]:
        """The schema and PostgreSQL modules of `version`'s wheel (cached)."""
        folder = self.cache / "synapse" / version
        cached = folder / "files.json"
        data = load_optional(cached, self.cache.parent.parent)  # no FIFO, link out, cut file
        if isinstance(data, dict) and SCHEMA_FILE in data:
            return {str(k): str(v) for k, v in data.items()}
        wheel = self._wheel(version)
        url = urljoin(self.url, str(wheel["url"]))
        try:
            response = self._client.get(url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ReleaseError(f"{wheel.get('filename')}: {exc}") from None
        expected = (wheel.get("digests") or {}).get("sha256")
        if expected and hashlib.sha256(response.content).hexdigest() != expected:
            raise ReleaseError(f"{wheel.get('filename')}: SHA-256 differs from PyPI's")
        try:
            with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
                names = set(archive.namelist())
                files = {
                    name: archive.read(name).decode()
                    for name in (SCHEMA_FILE, POSTGRES_FILE)
                    if name in names
                }
        except zipfile.BadZipFile:
            raise ReleaseError(f"{wheel.get('filename')}: not a zip archive") from None
        if SCHEMA_FILE not in files:
            raise ReleaseError(f"{wheel.get('filename')}: no {SCHEMA_FILE}")
        # Made one directory at a time without following a link (write_state refuses one
        # too, but only after mkdir(parents=True) had made a directory where it points).
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        os.close(open_directory(folder, STATE_PLACE, within=self.cache, make=0o755))
        write_state(cached, json.dumps(files))
        return files

    def facts(self, version: str) -> ReleaseFacts:
        files = self.release_files(version)
        return ReleaseFacts(
            version=version,
            requires_python=self.requires_python(version),
            schema=parse_schema(files[SCHEMA_FILE]),
            postgres_min=parse_postgres_min(files.get(POSTGRES_FILE, "")),
        )
