"""Issue 10, property tests: every string and number setting of wmx.yaml, given hostile
text (template syntax, quotes, newlines, NUL, control characters, very long, non-ASCII)
or extreme numbers, is either refused with an error that names the file and the key, or
renders a tree that each target's own checker accepts: JSON and YAML parsers for every
such file, `nft -c` for the firewall, `promtool` and `amtool` for monitoring where they
are installed, and line grammars for nginx, systemd units, coturn and /etc/default.

Bounded: one rendered site per accepted value (~0.3 s), fixed samples plus a
derandomised hypothesis run, well under a minute.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from wmx.errors import InputError
from wmx.render import plan_site
from wmx.site import Site, load_site
from wmx.site.migrate import migrate_document
from wmx.site.model import SiteConfig
from wmx.site.validation import validate_document
from wmx.site.yamlfile import load_document

PROBE = "{{ lookup('pipe', 'touch /tmp/wmx-probe') }}"
HOSTILE_TEXT = [
    PROBE,
    "{% raw %}x{% endraw %}",
    "a'b",
    'a"b',
    "a\nb",
    "a\rb",
    "a\x00b",
    "a\x1bb",
    "a\u2028b",
    "x" * 5000,
    "ünïcödé",
    "münchen.example.org",
    "ops@example.org\n",
    "https://x.example.org/'x",
    'https://x.example.org/"x',
    "https://x.example.org/$host",
    "https://x.example.org/a b",
    "$(id)",
    "`id`",
    "a;b",
    "  ",
    "",
    "../../etc/passwd",
    "\\",
    "#comment",
    "1.2.3.4",
    "::1",
    "٣",
]
PLAUSIBLE_TEXT = [
    "matrix.example.org",
    "https://x.example.org/path",
    "ops@example.org",
    "@alice:example.test",
    "10.0.0.0/8",
    "daily",
    "12h",
    "1.2.3",
    "smtp.example.org:587",
    "u@h.example.org:/srv/borg",
    "Chapter Chat",
]
EXTREME_NUMBERS: list[Any] = [
    -1, 0, 1, 2**31, 2**63, 10**30, 1.5, 1e308, -1e308,
    float("inf"), float("nan"), True, False,
]  # fmt: skip


def _leaves(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _leaves(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", annotation


def _is_list(annotation: Any) -> bool:
    return any(typing.get_origin(a) is list for a in (annotation, *typing.get_args(annotation)))


LEAVES = [(key, ann) for key, ann in _leaves(SiteConfig) if key != "irc_bridge.networks"]
# The IRC networks are a list of maps: their strings are reached through these.
NETWORK_LEAVES = ["irc_bridge.networks.name", "irc_bridge.networks.server"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, dict[str, Any]]:
    from tests.conftest import EXAMPLE
    from wmx.site.init import init_site

    paths = init_site(tmp_path_factory.mktemp("props") / "site", EXAMPLE)
    site = load_site(paths.root)
    document = migrate_document(load_document(paths.config), paths.config)
    return site, json.loads(json.dumps(document))  # plain data: cheap to copy


def _with(document: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of `document` with `key` set; only the maps along the key are copied."""
    changed = dict(document)
    if key in NETWORK_LEAVES:
        network = {"name": "libera", "servers": ["irc.libera.chat:6697:tls"]}
        if key.endswith(".name"):
            network["name"] = value
        else:
            network["servers"] = [value]
        changed["irc_bridge"] = {**changed.get("irc_bridge", {}), "networks": [network]}
        return changed
    *sections, leaf = key.split(".")
    node = changed
    for part in sections:
        child = node.get(part)
        node[part] = dict(child) if isinstance(child, dict) else {}
        node = node[part]
    node[leaf] = value
    return changed


# --- what each target accepts --------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_UNIT_LINE = re.compile(r"(\[[A-Za-z]+\]|[A-Za-z]+=.*|)\Z")
_checked: dict[str, None] = {}  # (tool, content) digests a checker accepted
_rendered: dict[str, None] = {}  # digests of settings whose render passed every check


def _tool(name: str, *args: str, content: str, suffix: str) -> None:
    """Run a checker on `content` once per distinct content (they are slow)."""
    key = hashlib.sha256(f"{name}{args}{content}".encode()).hexdigest()
    if key in _checked or shutil.which(name) is None:
        return
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"wmx-prop-{key[:16]}{suffix}"
    scratch.write_text(content)
    try:
        result = subprocess.run(
            [name, *args, str(scratch)], capture_output=True, text=True, timeout=60
        )
    finally:
        scratch.unlink()
    assert result.returncode == 0, f"{name} {' '.join(args)}: {result.stdout}{result.stderr}"
    _checked[key] = None


def _nginx_balanced(text: str) -> None:
    depth = 0
    for line in text.splitlines():
        code = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "", line.split("#", 1)[0])
        assert "'" not in code and '"' not in code, f"unbalanced quote: {line!r}"
        depth += code.count("{") - code.count("}")
        assert depth >= 0, line
    assert depth == 0


def _check_file(dest: str, text: str) -> None:
    assert not _CONTROL.search(text), f"{dest}: control character"
    name = dest.rsplit("/", 1)[-1]
    if name.endswith(".json"):
        json.loads(text)
    elif name.endswith((".yaml", ".yml")):
        yaml.safe_load(text)
    if dest == "/etc/nftables.conf" and os.geteuid() == 0:
        _tool("nft", "-c", "-f", content=text, suffix=".nft")
    elif dest == "/etc/prometheus/prometheus.yml":
        _tool("promtool", "check", "config", "--syntax-only", content=text, suffix=".yml")
    elif dest == "/etc/prometheus/alertmanager.yml":
        _tool("amtool", "check-config", content=text, suffix=".yml")
    elif dest.startswith("/etc/prometheus/rules/"):
        _tool("promtool", "check", "rules", content=text, suffix=".yml")
    elif dest == "/etc/prometheus/web.yml":
        _tool("promtool", "check", "web-config", content=text, suffix=".yml")
    elif dest.startswith("/etc/nginx/") and dest.endswith(".conf"):
        _nginx_balanced(text)
        # Inline bodies (`return 200 '…'`, the .well-known JSON) are held to grammars that
        # leave nothing nginx would read: no quote, backslash or `$` variable inside.
        for body in re.findall(r"return 200 '([^'\n]*)';", text):
            assert "\\" not in body and "$" not in body, body
            json.loads(body)
    elif dest.startswith("/etc/systemd/system/"):
        for line in text.splitlines():
            if not line.startswith("#"):
                assert _UNIT_LINE.fullmatch(line), f"{dest}: {line!r}"
    elif dest.startswith("/etc/default/"):
        for line in text.splitlines():
            shlex.split(line, comments=True)
    elif dest == "/etc/turnserver.conf":
        for line in text.splitlines():
            assert re.fullmatch(r"(#.*|[a-z0-9_-]+(=\S.*)?|)", line), line


def _outcome(base: tuple[Site, dict[str, Any]], key: str, value: Any) -> str:
    """'refused' or 'rendered'; fails the test on anything else."""
    site, document = base
    changed = _with(document, key, value)
    section = key.split(".")[0]
    try:
        config = validate_document(SiteConfig, changed, site.paths.config)
        seen = hashlib.sha256(config.model_dump_json().encode()).hexdigest()
        if seen in _rendered:
            return "rendered"  # the same settings rendered and checked before
        candidate = Site(paths=site.paths, config=config, topology=site.topology)
        plan = plan_site(candidate)
    except InputError as exc:
        message = str(exc)
        assert "Traceback" not in message
        assert section in message, (key, message)
        assert len(message) < 2000, "an error echoes the whole value"
        return "refused"
    for host in plan.hosts.values():
        for item in host.files:
            _check_file(item.dest, item.content)
        json.loads(json.dumps(host.role_vars))
    _rendered[seen] = None
    return "rendered"


@pytest.mark.parametrize(("key", "annotation"), LEAVES, ids=[k for k, _ in LEAVES])
def test_every_setting_refuses_or_renders_hostile_values(
    base: tuple[Site, dict[str, Any]], key: str, annotation: Any
) -> None:
    wrap = _is_list(annotation)
    outcomes = set()
    for sample in (*HOSTILE_TEXT, *PLAUSIBLE_TEXT, *EXTREME_NUMBERS):
        outcomes.add(_outcome(base, key, [sample] if wrap else sample))
    assert "refused" in outcomes  # every setting refuses something


@pytest.mark.parametrize("key", NETWORK_LEAVES)
def test_irc_networks_refuse_or_render_hostile_values(
    base: tuple[Site, dict[str, Any]], key: str
) -> None:
    for sample in (*HOSTILE_TEXT, *PLAUSIBLE_TEXT, *EXTREME_NUMBERS):
        _outcome(base, key, sample)


def test_template_syntax_is_refused_by_every_setting(base: tuple[Site, dict[str, Any]]) -> None:
    """No setting of wmx.yaml accepts Jinja syntax: the probe never reaches a file."""
    for key, annotation in LEAVES:
        value = [PROBE] if _is_list(annotation) else PROBE
        assert _outcome(base, key, value) == "refused", key


_values = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=80),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(leaf=st.sampled_from(LEAVES), value=_values, as_list=st.booleans())
def test_generated_values_are_refused_or_render_checked_files(
    base: tuple[Site, dict[str, Any]], leaf: tuple[str, Any], value: Any, as_list: bool
) -> None:
    key, annotation = leaf
    _outcome(base, key, [value] if as_list and _is_list(annotation) else value)


def test_the_target_checkers_are_here() -> None:
    """The checks above run promtool, amtool and `nft -c` where they are: CI must have them
    (under WMX_CI=1 their absence fails here instead of passing silently above)."""
    from tests.conftest import require_root, require_tool

    require_tool("promtool", "amtool", "nft")
    require_root("nft -c needs CAP_NET_ADMIN")
