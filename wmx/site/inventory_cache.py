"""A cache of what ansible-core's inventory read gave, so that a site loads without
importing Ansible when nothing that could change the read has changed (issue 18).

The cache is one JSON file, `.wmx/cache/inventory.json` in the site (0600, replaced
atomically), keyed by a digest of every input of the read: the inventory file, the
`group_vars/` and `host_vars/` trees beside it, Ansible's configuration (its `ANSIBLE_*`
environment and the `ansible.cfg` files it may read), ansible-core's release and wmx's
own version and reading code. Any change gives another digest, and so a full read.

A site is shared (in git, on a deploy host), so its `.wmx/` may hold a cache wmx never
wrote, and anyone can compute the digest. A cached read skips the checks of the files
themselves (their shape, the variables' files, the values Ansible reads as YAML 1.1)
and Ansible's own read, while `wmx deploy` hands the real inventory to Ansible: a
planted cache had an unchecked `ansible_ssh_common_args: -oProxyCommand=…` pass. So the
digest and the hosts are sealed with an HMAC whose key the site cannot know: this user's
own (`$XDG_CACHE_HOME/wmx/inventory-cache.key` or `~/.cache/wmx/…`, 0600, made on first
use, never inside the site). A cache without this user's seal is ignored without a word
and written again after a full read; when the key cannot be made or is not private to
this user, no cache is used at all. What a sealed cache holds still goes through the
checks of the values themselves (wmx.site.inventory: no template in a variable wmx
reads, the memory size; wmx.site.hostnames: host names and addresses; the groups). A
cache that cannot be read, or is not of the expected shape, is ignored. It is written
only once the whole site has passed (wmx.site.load_site), so that a refused site is
left as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib.util
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import wmx
from wmx.errors import WmxError
from wmx.site.ansible_config import config_files
from wmx.site.placed import open_directory
from wmx.site.state_files import STATE_PLACE, load_optional
from wmx.site.yamlfile import link_out, read_site_bytes, write_atomically

# 2: sealed with the user's key (format 1 had no seal: ignored, and written again).
CACHE_FORMAT = 2
KEY_FILE = "inventory-cache.key"
_KEY_BYTES = 32
# What one host is in a read: its groups, and its variables as plain values.
HostRead = tuple[set[str], dict[str, Any]]
# Files of these directories beside the inventory are variables Ansible reads.
VARS_DIRS = ("group_vars", "host_vars")
# ssh_options decides which variables a fresh read checks whatever their value (a
# vault-encrypted one, which a cached read no longer holds): its change is a new read too.
_CODE = (
    Path(__file__).with_name("inventory.py"),
    Path(__file__).with_name("inventory_shape.py"),
    Path(__file__).with_name("inventory_names.py"),
    Path(__file__).with_name("ssh_options.py"),
    Path(__file__),
)


def tree_files(root: Path, within: Path) -> Iterator[Path]:
    """Every file under `root`, symbolic links followed (as Ansible does), each
    directory visited once, in a stable order. A directory that a link takes out of
    `within` (the site), `root` too, is not entered (`group_vars/all -> /etc` would have
    wmx and Ansible read /etc) but given as an entry itself, for the caller to refuse."""
    if link_out(root, within) is not None:
        yield root
        return
    seen: set[str] = set()
    for top, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        out = [name for name in dirs if link_out(Path(top, name), within) is not None]
        dirs[:] = sorted(name for name in dirs if name not in out)
        for name in sorted(files + out):
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
    site = inventory.parent
    for name in VARS_DIRS:
        root = site / name
        if not root.exists():
            continue
        add(f"dir {name}", b"")
        for file in tree_files(root, site):
            name = file.relative_to(root).as_posix()
            # A FIFO or device is never read (it could block or never end), nor a file
            # outside the site: Ansible skips a hidden one, inventory_shape refuses the
            # others.
            outside = link_out(file, site)
            if outside is not None:
                add(f"outside {name}", outside.encode(errors="surrogateescape"))
            else:
                data = read_site_bytes(file, within=site) if os.path.isfile(file) else b"not a file"
                add(f"file {name}", data)
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
    """The cached read if `cache` holds one for `key` sealed with this user's key; None
    otherwise (no cache, another key, no seal or another's, a file that is not a cache,
    no user key)."""
    site = cache.parent.parent.parent
    # .wmx/cache/inventory.json: never a FIFO, /dev/zero or a link out of the site.
    document = load_optional(cache, site)
    if not isinstance(document, dict) or document.get("key") != key:
        return None
    user_key = _user_key(site)
    seal = document.get("seal")
    if user_key is None or not isinstance(seal, str):
        return None
    expected = _seal(user_key, document.get("key"), document.get("hosts"))
    if expected is None or not hmac.compare_digest(seal, expected):
        return None
    return _hosts_from(document.get("hosts"))


def store(cache: Path, key: str, hosts: dict[str, HostRead]) -> None:
    """Write the cache (0600, atomically), sealed with this user's key; a site that cannot
    be written, or no user key, and the inventory is read the long way the next time
    too, with no error. Never through a symbolic link."""
    state = cache.parent.parent
    user_key = _user_key(state.parent)
    if user_key is None:
        return
    body = {
        name: {"groups": sorted(groups), "vars": values} for name, (groups, values) in hosts.items()
    }
    try:
        # Sealed as it will be read back (a tuple is a list in JSON).
        seal = _seal(user_key, key, json.loads(json.dumps(body, allow_nan=False)))
        if seal is None:
            return
        text = json.dumps({"key": key, "seal": seal, "hosts": body}, allow_nan=False)
        # The site is untrusted: a `.wmx` or `.wmx/cache` linked elsewhere (before this
        # look or while the file is written) gets nothing; both are private, like .wmx/.
        os.close(open_directory(cache.parent, STATE_PLACE, within=state, make=0o700))
        write_atomically(cache, text, 0o600, keep_mode=False, follow_links=False, within=state)
    except (OSError, ValueError, WmxError):
        return


def _seal(user_key: bytes, key: object, hosts: object) -> str | None:
    """The HMAC of a cache's key and hosts (as JSON, keys sorted); None for what JSON
    cannot write (NaN, which Python's reader takes) or nests too deep."""
    try:
        text = json.dumps([CACHE_FORMAT, key, hosts], sort_keys=True, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        return None
    return hmac.new(user_key, text.encode(), hashlib.sha256).hexdigest()


def user_cache_dir() -> Path:
    """This user's cache directory for wmx (the XDG base directory rules: a relative
    $XDG_CACHE_HOME is ignored, since it would be relative to the site, say); the
    inventory cache's key and the compiled templates (wmx.render.engine) live there."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return Path(base if os.path.isabs(base) else Path.home() / ".cache", "wmx")


def _user_key(site: Path) -> bytes | None:
    """This user's key for the cache's seal, made on first use; None when it cannot be
    made or used: a directory that is a link, not this user's or writable by others, a key
    that is not this user's private file of the right size, or one inside the site."""
    try:
        directory = user_cache_dir()
        if link_out(directory, site) is None:  # inside the site: a site could ship it
            return None
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        found = os.lstat(directory)
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid() or found.st_mode & 0o022:
            return None
        path = directory / KEY_FILE
        if not os.path.lexists(path):
            _make_key(directory, path)
        return _read_key(path)
    except (OSError, RuntimeError):  # RuntimeError: no home directory
        return None


def _make_key(directory: Path, path: Path) -> None:
    """A new random key at `path`, whole from its first moment (written aside, then
    linked in; a key another wmx made first is kept)."""
    spare = directory / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(spare, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(_KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(spare, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(spare)


def _read_key(path: Path) -> bytes | None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            return None
        if info.st_mode & 0o077:
            return None
        data = os.read(fd, _KEY_BYTES + 1)
    finally:
        os.close(fd)
    return data if len(data) == _KEY_BYTES else None
