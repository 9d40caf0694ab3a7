"""Render a component's templates for a host from the context its plan gives them."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    BytecodeCache,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    UndefinedError,
)
from jinja2.bccache import Bucket

import wmx
from wmx.agent import sources as agent_sources
from wmx.components import COMPONENT_NAMES
from wmx.errors import WmxError
from wmx.site.inventory_cache import user_cache_dir
from wmx.site.topology import HostView

META_FILE = "_meta.yml"
_DEFAULT_META: dict[str, Any] = {"mode": "0644", "owner": "root", "group": "root", "secret": False}


@dataclass(frozen=True)
class RenderedFile:
    component: str
    src: str  # path under build/<host>/, the target path without its leading slash
    mode: str
    owner: str
    group: str
    secret: bool
    content: str

    @property
    def dest(self) -> str:
        return "/" + self.src

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "src": self.src,
            "dest": self.dest,
            "mode": self.mode,
            "owner": self.owner,
            "group": self.group,
            "secret": self.secret,
            "sha256": self.sha256,
        }


def _bytecode_cache() -> BytecodeCache | None:
    """Compiled templates kept between runs (issue 18: compiling them is most of a
    render), in the user's own cache directory: never in the site, which is untrusted
    data, while compiled code is run as it is. None when that directory cannot be made
    private to this user (then every run compiles)."""
    # Per wmx release and these options: Jinja keys its cache by template name and
    # source only, not by the options the code was compiled with.
    directory = user_cache_dir() / f"jinja-{wmx.__version__}-{_OPTIONS_TAG}"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        found = os.lstat(directory)
    except (OSError, RuntimeError):  # RuntimeError: no home directory
        return None
    private = stat.S_ISDIR(found.st_mode) and not found.st_mode & 0o077
    if not private or found.st_uid != os.geteuid():
        return None
    return _OptionalCache(str(directory))


class _OptionalCache(FileSystemBytecodeCache):
    """The cache only spares compiling: a read or a write it cannot do (a full disk, a
    directory the user made unwritable) compiles the template again, rather than failing
    a render or a deploy over a file outside the site."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


_OPTIONS: dict[str, Any] = {
    "undefined": StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
    "autoescape": False,
}
_OPTIONS_TAG = hashlib.sha256(repr(sorted(_OPTIONS.items())).encode()).hexdigest()[:12]


def jinja_environment(root: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(root),
        bytecode_cache=_bytecode_cache(),
        **_OPTIONS,
    )
    env.filters["to_json"] = _to_json
    return env


def _to_json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _component_meta(component_dir: Path) -> dict[str, dict[str, Any]]:
    """templates/<component>/_meta.yml: wmx's own file (never a site's)."""
    try:
        status = (component_dir / META_FILE).stat()
    except FileNotFoundError:
        return {}
    return _read_meta(component_dir / META_FILE, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=64)
def _read_meta(path: Path, _mtime_ns: int, _size: int) -> dict[str, dict[str, Any]]:
    """Read once per process and version of the file, with libyaml's safe loader:
    ruamel's pure-Python parser took most of a render's planning time (every _meta.yml
    reads the same with both; tests/unit/test_render_meta.py checks)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return dict(yaml.load(path.read_text(), Loader=loader) or {})


def render_component(
    env: Environment, root: Path, component: str, host: HostView, context: dict[str, Any]
) -> list[RenderedFile]:
    """Every file of templates/<component>/ that `host` receives, rendered in `context`."""
    component_dir = root / component
    if not component_dir.is_dir():
        return []
    meta = _component_meta(component_dir)
    files: list[RenderedFile] = []
    for path in sorted(component_dir.rglob("*.j2")):
        src = path.relative_to(component_dir).as_posix().removesuffix(".j2")
        settings = {**_DEFAULT_META, **meta.get(src, {})}
        # `groups:` in _meta.yml: the file lands only on hosts in one of them (a
        # component whose files differ by host, such as the exporters).
        only = settings.pop("groups", None)
        if only and not set(only) & set(host.groups):
            continue
        # `when:` names a context entry that must be true (the database's TLS files).
        when = settings.pop("when", None)
        if when and not context.get(when):
            continue
        template_name = path.relative_to(root).as_posix()
        try:
            content = env.get_template(template_name).render(context)
        except UndefinedError as exc:
            raise WmxError(f"template {template_name}: {exc.message}") from None
        files.append(
            RenderedFile(
                component=component,
                src=src,
                mode=str(settings["mode"]),
                owner=str(settings["owner"]),
                group=str(settings["group"]),
                secret=bool(settings["secret"]),
                content=content,
            )
        )
    files.extend(verbatim_files(component, meta, context))
    return files


def verbatim_files(
    component: str, meta: dict[str, dict[str, Any]], context: dict[str, Any] | None = None
) -> list[RenderedFile]:
    """`package: agent` in _meta.yml: wmx/agent's modules below that path, copied as they
    are, not rendered (host-side programs, linted and type-checked with wmx).
    `modules:` limits the copy to those modules; `when:` names a context entry that must
    be true (a component's feature that is off installs nothing)."""
    files: list[RenderedFile] = []
    for target, raw in meta.items():
        if raw.get("package") != "agent":
            continue
        if "when" in raw and not (context or {}).get(raw["when"]):
            continue
        settings = {**_DEFAULT_META, **raw}
        only = raw.get("modules")
        for rel, text in agent_sources().items():
            if only is not None and rel not in only:
                continue
            mode, owner, group = (str(settings[k]) for k in ("mode", "owner", "group"))
            src = f"{target}/{rel}"
            files.append(RenderedFile(component, src, mode, owner, group, False, text))
    return files


def component_owns(root: Path, component: str, dest: str) -> bool:
    """Whether `dest` is a file `component` installs on some host: one of
    templates/<component>/'s templates, whatever its `groups:` or `when:`, or a file below
    one of its verbatim package targets (a module a later wmx no longer ships). A stale
    path in wmx's record of a deploy is removed as root only when it is: the record is a
    file in the site, and a hand-edited one must not name /etc/passwd."""
    if component not in COMPONENT_NAMES or not dest.startswith("/") or ".." in dest.split("/"):
        return False
    component_dir, src = root / component, dest.removeprefix("/")
    if (component_dir / f"{src}.j2").is_file():
        return True
    meta = _component_meta(component_dir)
    return any(
        raw.get("package") == "agent" and src.startswith(f"{target}/")
        for target, raw in meta.items()
    )
