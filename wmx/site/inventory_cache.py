"""A cache of what ansible-core's inventory read gave, so that a site loads without
importing Ansible when nothing that could change the read has changed (issue 18).

The cache is one JSON file, `.wmx/cache/inventory.json` in the site (0600, replaced
atomically), keyed by a digest of every input of the read: the inventory file, the
`group_vars/` and `host_vars/` trees beside it, Ansible's configuration (its `ANSIBLE_*`
environment and the `ansible.cfg` files it may read), ansible-core's release and wmx's
own version and reading code. Any change gives another digest, and so a full read.

The cache is never trusted more than the inventory: what it holds goes through the same
checks as a fresh read (wmx.site.inventory: no template in a variable wmx reads, the
memory size; wmx.site.hostnames: host names and addresses; the groups). A cache that
cannot be read, or is not of the expected shape, is ignored. It is written only once
the whole site has passed (wmx.site.load_site), so that a refused site is left as it was.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import wmx
from wmx.errors import WmxError
from wmx.site.ansible_config import config_files
from wmx.site.placed import open_directory
from wmx.site.state_files import STATE_PLACE, load_optional
from wmx.site.yamlfile import read_site_bytes, write_atomically

CACHE_FORMAT = 1
# What one host is in a read: its groups, and its variables as plain values.
HostRead = tuple[set[str], dict[str, Any]]
# Files of these directories beside the inventory are variables Ansible reads.
VARS_DIRS = ("group_vars", "host_vars")
_CODE = (
    Path(__file__).with_name("inventory.py"),
    Path(__file__).with_name("inventory_shape.py"),
    Path(__file__),
)


def tree_files(root: Path) -> Iterator[Path]:
    """Every file under `root`, symbolic links followed (as Ansible does), each
    directory visited once, in a stable order."""
    seen: set[str] = set()
    for top, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in sorted(files):
            yield Path(top, name)


def _ansible_release() -> bytes:
    """ansible-core's release file, found without importing Ansible."""
    spec = importlib.util.find_spec("ansible")
    if spec is None or not spec.submodule_search_locations:
        return b"no ansible"
    for location in spec.submodule_search_locations:
        release = Path(location, "release.py")
        if release.is_file():
            return release.read_bytes()
    return b"no ansible release"


def inputs_digest(inventory: Path) -> str:
    """The digest of everything the read of `inventory` depends on."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("format", str(CACHE_FORMAT).encode())
    add("wmx", wmx.__version__.encode())
    for code in _CODE:
        add(f"code {code.name}", code.read_bytes())
    add("ansible", _ansible_release())
    add("path", str(inventory.resolve()).encode())
    add("inventory", read_site_bytes(inventory))
    for name in VARS_DIRS:
        root = inventory.parent / name
        if not root.exists():
            continue
        add(f"dir {name}", b"")
        for file in tree_files(root):
            name = file.relative_to(root).as_posix()
            # A FIFO or device is never read (it could block or never end): Ansible
            # skips it if hidden, and inventory_shape refuses it otherwise.
            add(f"file {name}", read_site_bytes(file) if file.is_file() else b"not a file")
    for config in config_files():
        if config.is_file():
            add(f"config {config.resolve()}", config.read_bytes())
    settings = sorted((k, v) for k, v in os.environ.items() if k.startswith("ANSIBLE_"))
    add("environment", json.dumps(settings).encode())
    return digest.hexdigest()


def _hosts_from(raw: object) -> dict[str, HostRead] | None:
    """The hosts of a cache's content; None unless it has exactly the shape a read
    gives (names and groups as text, variables as a mapping)."""
    if not isinstance(raw, dict):
        return None
    hosts: dict[str, HostRead] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict) or set(entry) != {"groups", "vars"}:
            return None
        groups, values = entry["groups"], entry["vars"]
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            return None
        if not isinstance(values, dict):
            return None
        hosts[name] = (set(groups), values)
    return hosts


def load_cached(cache: Path, key: str) -> dict[str, HostRead] | None:
    """The cached read if `cache` holds one for `key`; None otherwise (no cache, another
    key, a file that is not a cache)."""
    # .wmx/cache/inventory.json: never a FIFO, /dev/zero or a link out of the site.
    document = load_optional(cache, cache.parent.parent.parent)
    if not isinstance(document, dict) or document.get("key") != key:
        return None
    return _hosts_from(document.get("hosts"))


def store(cache: Path, key: str, hosts: dict[str, HostRead]) -> None:
    """Write the cache (0600, atomically); a site that cannot be written is read the
    long way the next time too, with no error. Never through a symbolic link."""
    document = {
        "key": key,
        "hosts": {
            name: {"groups": sorted(groups), "vars": values}
            for name, (groups, values) in hosts.items()
        },
    }
    try:
        text = json.dumps(document, allow_nan=False)
        # The site is untrusted: a `.wmx` or `.wmx/cache` linked elsewhere (before this
        # look or while the file is written) gets nothing; both are private, like .wmx/.
        state = cache.parent.parent
        os.close(open_directory(cache.parent, STATE_PLACE, within=state, make=0o700))
        write_atomically(cache, text, 0o600, keep_mode=False, follow_links=False, within=state)
    except (OSError, ValueError, WmxError):
        return
