"""Directories wmx makes in `.wmx/` for itself, linked out of the site:

- `wmx backup drill` (and `upgrade --rehearse`) writes a private copy of the site, its
  secrets.yml too, to `.wmx/drill/HOST/` (wmx/ops/drill.py): a link there is refused in
  one line, never written through. It had been a traceback (mkdir found the link), and
  a copy of the secrets is the last thing to send wherever a link points.
- the cache of Synapse's release files (`.wmx/cache/synapse/VERSION/`,
  wmx/ops/upgrade_release.py): mkdir(parents=True) had made a directory where a linked
  `synapse/` pointed before write_state refused the link.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import httpx
import pytest

from wmx.errors import InputError
from wmx.ops.drill import drill_site
from wmx.ops.upgrade_release import SCHEMA_FILE, PyPI
from wmx.site import load_site


def test_a_drill_copy_linked_out_is_refused_and_nothing_written_there(
    site_dir: Path, tmp_path: Path
) -> None:
    site = load_site(site_dir)
    target = site.topology.hosts[0]
    outside = tmp_path / "outside"
    outside.mkdir()
    (site_dir / ".wmx" / "drill").mkdir(parents=True)
    (site_dir / ".wmx" / "drill" / target.name).symlink_to(outside)
    with pytest.raises(InputError, match=rf"drill/{target.name}: a symbolic link") as caught:
        drill_site(site, target)
    assert "\n" not in str(caught.value)
    assert os.listdir(outside) == []


def test_a_drill_copy_is_private_and_made_again(site_dir: Path) -> None:
    site = load_site(site_dir)
    target = site.topology.hosts[0]
    root = site_dir / ".wmx" / "drill" / target.name
    root.mkdir(parents=True)
    (root / "left-over").write_text("from an earlier drill\n")
    copy = drill_site(site, target)
    assert copy.paths.root == root and not (root / "left-over").exists()
    assert (root.parent.stat().st_mode & 0o777, root.stat().st_mode & 0o777) == (0o700, 0o700)
    for name in ("wmx.yaml", "inventory.yml", "secrets.yml"):
        assert (root / name).stat().st_mode & 0o777 == 0o600, name


def _pypi(cache: Path) -> PyPI:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(SCHEMA_FILE, "SCHEMA_VERSION = 94\nSCHEMA_COMPAT_VERSION = 84\n")
    wheel = buffer.getvalue()
    files = [
        {
            "filename": "matrix_synapse-1.163.2-cp39-abi3-manylinux.whl",
            "packagetype": "bdist_wheel",
            "url": "https://files.example/w.whl",
            "size": len(wheel),
            "digests": {"sha256": hashlib.sha256(wheel).hexdigest()},
            "requires_python": ">=3.10",
        }
    ]
    metadata = {"info": {"version": "1.163.2"}, "releases": {"1.163.2": files}}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/json"):
            return httpx.Response(200, json=metadata)
        return httpx.Response(200, content=wheel)

    return PyPI(cache, transport=httpx.MockTransport(handler))


def test_the_release_cache_makes_nothing_where_a_linked_directory_points(tmp_path: Path) -> None:
    cache = tmp_path / "site" / ".wmx" / "cache"
    cache.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (cache / "synapse").symlink_to(outside)
    with _pypi(cache) as pypi, pytest.raises(InputError, match="synapse: a symbolic link"):
        pypi.release_files("1.163.2")
    assert os.listdir(outside) == []


def test_the_release_cache_is_written_and_read_again(tmp_path: Path) -> None:
    cache = tmp_path / "site" / ".wmx" / "cache"
    with _pypi(cache) as pypi:
        assert SCHEMA_FILE in pypi.release_files("1.163.2")
    written = json.loads((cache / "synapse" / "1.163.2" / "files.json").read_text())
    assert SCHEMA_FILE in written
