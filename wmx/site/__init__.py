"""A site: `wmx.yaml`, its inventory and its secrets, loaded into one typed object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from wmx.errors import InputError
from wmx.site.checks import check_site
from wmx.site.deployed import check_server_name
from wmx.site.element_release import WebClientRelease, element_release
from wmx.site.given import given
from wmx.site.inventory import INVENTORY_FILE, load_topology, remember_topology
from wmx.site.migrate import migrate_document
from wmx.site.model import SiteConfig
from wmx.site.pki import PKI_DIR, DatabaseTls, database_names, database_tls
from wmx.site.secrets import SECRETS_FILE, Secrets, load_secrets, secrets_pass
from wmx.site.state_files import check_state_dirs
from wmx.site.topology import Topology
from wmx.site.validation import validate_document
from wmx.site.yamlfile import line_of, load_document

CONFIG_FILE = "wmx.yaml"


@dataclass(frozen=True)
class SitePaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def inventory(self) -> Path:
        return self.root / INVENTORY_FILE

    @property
    def secrets(self) -> Path:
        return self.root / SECRETS_FILE

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def state(self) -> Path:
        return self.root / ".wmx"

    @property
    def pki(self) -> Path:
        return self.root / PKI_DIR

    @property
    def runs(self) -> Path:
        return self.state / "runs"

    @property
    def deployed(self) -> Path:
        return self.state / "deployed"

    def holds_secrets(self, path: Path) -> bool:
        """Whether `path` (through any link) is secrets.yml, or in build/ or .wmx/, where
        the rendered configuration and wmx's records keep passwords and tokens, or in
        pki/, which keeps the database CA's private key and PostgreSQL's."""
        try:
            found = path.resolve()
            private = [p.resolve() for p in (self.secrets, self.build, self.state, self.pki)]
        except (OSError, RuntimeError):
            return False
        if any(found.is_relative_to(p) for p in private):  # the file itself too
            return True
        return _hard_link_into(found, private)


def _hard_link_into(path: Path, places: list[Path]) -> bool:
    """Whether `path` is another name (a hard link) of a file at or below `places`: a
    second name shares the inode, not the path. Only a file with more than one name is
    looked for, so the walk costs nothing in the usual case."""
    try:
        info = path.stat()
    except OSError:
        return False
    if info.st_nlink < 2:
        return False
    wanted = (info.st_dev, info.st_ino)
    for place in places:
        candidates = [place] if place.is_file() else _files_below(place)
        for candidate in candidates:
            try:
                seen = candidate.stat()
            except OSError:
                continue
            if (seen.st_dev, seen.st_ino) == wanted:
                return True
    return False


def _files_below(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found: list[Path] = []
    for top, _dirs, files in os.walk(directory):  # links are not followed
        found += [Path(top) / name for name in files]
    return found


@dataclass(frozen=True)
class Site:
    """wmx.yaml and the inventory, checked against each other when the site is made.

    Everything that needs a file besides these (a local Element archive) is read here
    too, so that rendering a site reads nothing.
    """

    paths: SitePaths
    config: SiteConfig
    topology: Topology
    # The web client release, Element Web or Cinny (None when no host is in group
    # `element`).
    element_release: WebClientRelease | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        check_site(self.config, self.topology, self.paths.inventory)
        try:
            release = (
                element_release(self.config, self.paths.root)
                if self.topology.in_group("element")
                else None
            )
        except InputError as error:
            raise InputError(f"{_archive_line(self.paths.config)}: {error}") from None
        object.__setattr__(self, "element_release", release)

    @cached_property
    def secrets(self) -> Secrets:
        # Loaded on first use: `wmx config get` has no business reading secrets.
        return load_secrets(self.paths.secrets)

    @cached_property
    def database_tls(self) -> DatabaseTls | None:
        """The database CA and PostgreSQL's certificate (pki/, made or reissued here when
        needed), or None when every client of PostgreSQL shares its host."""
        names = database_names(self.topology)
        if not names:
            return None
        return database_tls(self.paths.root, names, self.config.server_name)


def _archive_line(config: Path) -> str:
    """`wmx.yaml:line` of `web_client.archive` (what a refused archive comes from)."""
    try:
        line = line_of(load_document(config), ("web_client", "archive"))
    except InputError:
        line = None
    return f"{config}:{line}" if line else str(config)


def find_site_root(start: Path) -> Path:
    """The site directory: `start` itself, or the nearest parent holding wmx.yaml. The
    first wmx.yaml found decides, whatever it is: one that is a directory, a FIFO, a
    device or a link to nothing had been passed over for a parent's site, which was then
    rendered and deployed; it is refused when read (read_text), naming it."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if os.path.lexists(candidate / CONFIG_FILE):
            return candidate
    raise InputError(
        f"no {CONFIG_FILE} in {start} or its parents; create a site with `wmx init DIR` "
        "or point at one with --site DIR"
    )


def require_site(paths: SitePaths) -> None:
    """Refuse a directory without wmx.yaml (--site or $WMX_SITE naming no site yet),
    saying how to make one, before anything (a lock file) is written there. A wmx.yaml
    that is a link to nothing is there (its read says so)."""
    if not os.path.lexists(paths.config):
        root = given(paths.root)  # a typed --site: a line break or ESC in it, escaped
        raise InputError(
            f"{root}: no {CONFIG_FILE} here, so no site; create one with "
            f"`wmx init {root}` or point --site at the directory that holds {CONFIG_FILE}"
        )


def require_settings(document: CommentedMap, path: Path) -> None:
    """Refuse a wmx.yaml without a setting in one line, not one per setting it lacks."""
    if not document:
        raise InputError(
            f"{path}: holds no settings (empty, or only comments); `wmx init DIR` "
            "writes a complete one to start from"
        )


def load_config(paths: SitePaths) -> SiteConfig:
    require_site(paths)
    loaded = load_document(paths.config)
    require_settings(loaded, paths.config)
    document = migrate_document(loaded, paths.config)
    config = validate_document(SiteConfig, document, paths.config)
    # server_name is fixed by the first deploy, whoever edits wmx.yaml afterwards.
    check_server_name(paths, config.server_name, line_of(document, ("server_name",)))
    return config


def load_site(root: Path) -> Site:
    paths = SitePaths(root.resolve())
    config = load_config(paths)
    check_state_dirs(paths.state)
    if not paths.inventory.exists():
        raise InputError(f"{paths.inventory}: missing; `wmx init` writes one, `wmx lab up` too")
    cache = paths.state / "cache" / "inventory.json"
    topology = load_topology(paths.inventory, cache, remember=False)
    site = Site(paths=paths, config=config, topology=topology)
    # The inventory's read is kept for the next load only when the whole site passes
    # (secrets.yml included, though only the commands that use it load it): a command
    # refused for a site error leaves nothing behind in the site.
    if secrets_pass(paths.secrets):
        remember_topology(paths.inventory, cache, topology)
    return site
