"""The documentation's values are the code's, checked mechanically.

test_docs_truth.py checks that documented command lines parse and setting names exist;
this goes on to what the documents say about them (test_docs_tables.py: the documents'
lists of what the code has):
- every default a document states for a setting of wmx.yaml (a `| key | default |` table
  under a heading naming its section, or "`KEY` (default `VALUE`)" in prose) is the
  settings model's default, and every bound docs/site-input.md states is the model's;
- `wmx init`'s wmx.yaml names every setting (README: "every setting, commented");
- docs/design.md's table of layers gives every package the rank tests/unit/test_layers.py
  gives it, and the inventory groups design.md and backup.md list are wmx's;
- every path of this repository a document or a --help text names (`wmx/site/model.py`,
  `tests/e2e/test_upgrade.py`, `scripts/test`) exists;
- README's quick start is two commands, both scripts of this checkout, and `.ci/run`
  runs the second (the whole test suite) as README tells a newcomer.
"""

from __future__ import annotations

import enum
import importlib
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from annotated_types import Ge, Le
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from typer.testing import CliRunner

from tests.unit.test_layers import RANKS
from wmx.cli import app
from wmx.ops.drill import SERVING_GROUPS
from wmx.site.model import SiteConfig
from wmx.site.topology import GROUPS

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SECTIONS = set(SiteConfig.model_fields)
FENCE = re.compile(r"^\s*(```|~~~)")
# Defaults a document states as what the setting amounts to, where the model holds a
# placeholder (None) that the code resolves when it renders.
DERIVED = {
    "irc_bridge.allowed_users": "null in the model: the server's own users (@*:SERVER_NAME)",
    "irc_bridge.relay.nick": "null in the model: the server name's first label + -matrix",
    "turn.host": "null in the model: homeserver.host",
}
_MISSING = object()


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for arg in typing.get_args(annotation) or (annotation,):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def field_of(key: str) -> FieldInfo | None:
    """The settings model's field of a dotted setting (`synapse.email.smtp_port`)."""
    model: type[BaseModel] | None = SiteConfig
    *sections, name = key.split(".")
    for part in sections:
        if model is None or part not in model.model_fields:
            return None
        model = _model_of(model.model_fields[part].annotation)
    return model.model_fields.get(name) if model is not None else None


def default_of(key: str) -> Any:
    """The model's default of a dotted setting, as YAML would write it, or _MISSING."""
    field = field_of(key)
    if field is None or field.is_required():
        return _MISSING
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):  # a section: on or off
        return value.model_dump(mode="json").get("enabled", _MISSING)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    return value


def bounds_of(key: str) -> tuple[object, object]:
    field = field_of(key)
    assert field is not None, key
    low = next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
    high = next((m.le for m in field.metadata if isinstance(m, Le)), None)
    return low, high


def _value(text: str) -> Any:
    """A stated default: `VALUE` (YAML), a bare number, on/off, none; else _MISSING."""
    text = text.strip().strip("*")
    quoted = re.fullmatch(r"`([^`]*)`", text)
    if quoted:
        return yaml.safe_load(quoted.group(1))
    words = {"on": True, "off": False, "true": True, "false": False, "none": None}
    if text in words:
        return words[text]
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return yaml.safe_load(text)
    return _MISSING


def _same(stated: Any, default: Any) -> bool:
    if stated is None:  # "none" for null, an empty string or an empty list
        return default in (None, "", [])
    return bool(type(stated) is type(default) and stated == default) or (
        isinstance(stated, float | int)
        and not isinstance(stated, bool)
        and isinstance(default, float | int)
        and not isinstance(default, bool)
        and stated == default
    )


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _split_values(cell: str) -> list[str]:
    """`a`, `b, c`, none → ['`a`', '`b, c`', 'none'] (commas inside code stay)."""
    parts, depth, start = [], False, 0
    for i, c in enumerate(cell):
        if c == "`":
            depth = not depth
        elif c == "," and not depth:
            parts.append(cell[start:i])
            start = i + 1
    parts.append(cell[start:])
    return [p.strip() for p in parts]


def _absolute(key: str, section: str | None, previous: str | None) -> str | None:
    """A table's key as a dotted setting: as written, under the heading's section, or
    beside the key before it in the same cell (`email.smtp_host`, `smtp_port`)."""
    candidates = [f"{section}.{key}", key] if section else [key]
    if previous and "." in previous:
        candidates.append(f"{previous.rpartition('.')[0]}.{key}")
    for candidate in candidates:
        if default_of(candidate) is not _MISSING or candidate in DERIVED:
            return candidate
    return None


def stated_defaults() -> Iterator[tuple[str, str, str]]:
    """(where, setting, stated value) for every default the documents state."""
    for path in DOCS:
        name = path.relative_to(ROOT)
        section: str | None = None
        key_column, default_column = 0, None
        fenced = False
        for no, line in enumerate(path.read_text().splitlines(), 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if fenced:
                continue
            if line.startswith("#"):
                named = [s.rstrip(":") for s in re.findall(r"`([a-z_]+:?)`", line)]
                section = next((s for s in reversed(named) if s in SECTIONS), None)
            if line.startswith("|"):
                cells = _cells(line)
                if len(cells) > 1 and cells[0] in ("key", "setting"):
                    key_column = 0
                    default_column = 1 if cells[1] == "default" else None
                elif len(cells) > 2 and cells[1] == "setting":
                    # | control | setting | default, and why |: a leading `VALUE` only
                    key_column = 1
                    default_column = 2 if cells[2].startswith("default") else None
                elif default_column is not None and not set(cells[0]) <= set("-: "):
                    keys = re.findall(r"`([a-z_.][a-z0-9_.]*)`", cells[key_column])
                    values = _split_values(cells[default_column])
                    if key_column:  # the first setting named, and its leading value
                        keys = keys[:1]
                        values = re.findall(r"^`[^`]+`(?=[:;, ]|$)", cells[default_column])
                    if len(keys) == len(values):
                        previous = None
                        for key, value in zip(keys, values, strict=True):
                            setting = _absolute(key, section, previous)
                            if setting:
                                yield f"{name}:{no}", setting, value
                                previous = setting
            else:
                default_column = None
            for key, value in re.findall(
                r"`([a-z_]+\.[a-z_.]+)`:?,? \(?default (\*\*\w+\*\*|`[^`]+`|on\b|off\b)", line
            ):
                if key.split(".")[0] in SECTIONS:
                    yield f"{name}:{no}", key, value


def test_every_stated_default_is_the_models() -> None:
    checked, wrong = 0, []
    for where, key, text in stated_defaults():
        stated = _value(text)
        if stated is _MISSING or key in DERIVED:
            continue
        checked += 1
        default = default_of(key)
        if default is _MISSING or not _same(stated, default):
            wrong.append(f"{where}: {key}: the document says {text}, the model {default!r}")
    assert checked > 60, checked
    assert not wrong, "defaults the documents state wrongly:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("text", "default", "same"),
    [
        ("`50`", 50, True),
        ("`false`", False, True),
        ("off", False, True),
        ("none", "", True),
        ("`[]`", [], True),
        ("`0.003`", 0.003, True),
        ("`1d`", "1d", True),
        ("`100`", 50, False),
        ("on", False, False),
        ("`1`", True, False),
    ],
)
def test_the_default_check_compares_values(text: str, default: Any, same: bool) -> None:
    assert _same(_value(text), default) is same


def test_the_default_check_reads_tables_and_prose(tmp_path: Path) -> None:
    stated = {(key, value) for _, key, value in stated_defaults()}
    assert ("synapse.registration", "`closed`") in stated  # chat.md's ### `synapse` table
    assert ("monitoring.scrape_interval", "15") in stated  # a section named in the heading
    assert ("synapse.email.smtp_port", "`587`") in stated  # beside the key before it
    assert ("backup.schedule", "`daily`") in stated  # prose: `backup.schedule`, default `daily`
    assert ("synapse.privacy.user_ips_max_age", "`28d`") in stated  # | control | setting |
    assert default_of("synapse.max_upload_size_mb") == 50
    assert default_of("synapse.no_such_thing") is _MISSING


def stated_bounds() -> Iterator[tuple[str, str, str, str]]:
    """(where, setting, low, high) of docs/site-input.md's table of numbers."""
    text = (ROOT / "docs/site-input.md").read_text()
    table = text.partition("## wmx.yaml: numbers and their bounds")[2].partition("\n## ")[0]
    for line in table.splitlines():
        cells = _cells(line)
        if not line.startswith("| `") or "*" in cells[0]:
            continue
        keys, previous = [], None
        for key in re.findall(r"`([a-z_.][a-z0-9_.]*)`", cells[0]):
            previous = _absolute(key, None, previous)
            keys.append(previous)
        stated = re.match(r"(\S+) \N{EN DASH} (\S+(?: / \S+)*)", cells[1])
        if stated is None or None in keys:
            continue
        highs = stated.group(2).split(" / ")
        highs = highs * len(keys) if len(highs) == 1 else highs
        assert len(highs) == len(keys), line
        for key, high in zip(keys, highs, strict=True):
            assert key is not None
            yield f"docs/site-input.md ({line[:40]}…)", key, stated.group(1), high


def test_every_stated_bound_is_the_models() -> None:
    checked, wrong = 0, []
    for where, key, low, high in stated_bounds():
        checked += 1
        stated = (float(low), float(high.rstrip(",")))
        if bounds_of(key) != stated:
            wrong.append(
                f"{where}: {key}: the document says {low}..{high}, the model {bounds_of(key)}"
            )
    assert checked >= 20, checked
    assert not wrong, "bounds the documents state wrongly:\n" + "\n".join(wrong)
    # Every bounded number is in the table (workers' counts and IRC ports by their rows).
    stated_keys = {key for _, key, _, _ in stated_bounds()}
    unstated = [
        key
        for key in _leaf_settings(SiteConfig)
        if bounds_of(key) != (None, None) and key not in stated_keys
        if not key.startswith(("synapse.workers.", "irc_bridge.networks.servers."))
    ]
    assert not unstated, f"docs/site-input.md gives no bounds of {unstated}"


def test_design_md_ranks_every_package_as_test_layers_does() -> None:
    text = (ROOT / "docs/design.md").read_text()
    table = text.partition("### Layers")[2].partition("\n\n`tests/unit/test_layers.py`")[0]
    documented: dict[str, int] = {}
    for line in table.splitlines():
        cells = _cells(line)
        if line.startswith("|") and cells[0].isdigit():
            for package in re.findall(r"`([a-z_]+)`", cells[1]):
                documented[package] = int(cells[0])
    assert documented == RANKS


REPO_PATH = re.compile(
    r"(?:^|[\s`(\"'])((?:wmx|tests|playbooks|templates|scripts|bench|inventories|docs|\.ci)"
    r"/[A-Za-z0-9_./-]*[A-Za-z0-9_/])"
)


def _unreleased(text: str) -> str:
    return text.partition("## Unreleased")[2].partition("\n## ")[0]


def repo_paths() -> Iterator[tuple[str, str]]:
    texts = [(p, p.read_text()) for p in DOCS]
    texts.append((ROOT / "CHANGELOG.md", _unreleased((ROOT / "CHANGELOG.md").read_text())))
    golden = ROOT / "tests/unit/golden/cli_tree.txt"  # every --help text
    texts.append((golden, golden.read_text()))
    for path, text in texts:
        for no, line in enumerate(text.splitlines(), 1):
            for match in REPO_PATH.finditer(line):
                after = line[match.end(1) : match.end(1) + 1]
                if after in ("<", "{", "*"):  # a pattern: templates/<component>/…
                    continue
                if line[: match.start(1)].endswith("was `"):  # a module that moved
                    continue
                yield f"{path.relative_to(ROOT)}:{no}", match.group(1)


def test_every_path_a_document_names_exists() -> None:
    found, missing = 0, []
    for where, name in repo_paths():
        found += 1
        module = name.removesuffix("/")
        if not (ROOT / module).exists() and not (ROOT / f"{module}.py").exists():
            missing.append(f"{where}: {name}")
    assert found > 100, found
    assert not missing, "paths of this repository that do not exist:\n" + "\n".join(missing)


def test_readme_quick_start_is_two_commands_and_ci_runs_the_tests() -> None:
    text = (ROOT / "README.md").read_text()
    quick = text.partition("## Quick start")[2].partition("\n## ")[0]
    block = quick.partition("```sh\n")[2].partition("```")[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert len(commands) == 2, commands
    for command in commands:
        assert (ROOT / command).is_file(), command
    ci = [
        line.strip()
        for line in (ROOT / ".ci/run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ci[-1] == commands[1], "`.ci/run` must run README's test command"
    assert "test" in commands[1] and "demo" in commands[0]


def test_documents_list_every_inventory_group() -> None:
    """docs/design.md's vocabulary of the inventory, docs/site-input.md's groups and
    docs/backup.md's groups a drill never overwrites are the groups wmx knows
    (`wmx.site.topology.GROUPS`)."""
    design = (ROOT / "docs/design.md").read_text()
    vocabulary = design.partition("`wmx/site/topology.py` holds")[2].partition("\n- ")[0]
    assert set(re.findall(r"`([a-z_]+)`", vocabulary)) == set(GROUPS)
    site_input = (ROOT / "docs/site-input.md").read_text()
    known = site_input.partition("| groups | the groups wmx knows (")[2].partition(")")[0]
    assert set(re.findall(r"`([a-z_]+)`", known)) == set(GROUPS)
    backup = (ROOT / "docs/backup.md").read_text()
    serving = backup.partition("any group but `backup`:")[2].partition(")")[0]
    assert {g.strip() for g in serving.split(",")} == set(SERVING_GROUPS)


def _leaf_settings(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        sub = _model_of(field.annotation)
        if sub is None:
            yield prefix + name
        else:
            yield from _leaf_settings(sub, f"{prefix}{name}.")


def test_init_writes_every_setting_into_wmx_yaml(tmp_path: Path) -> None:
    """README: `wmx.yaml` holds "every setting, commented with its default": each
    section and each key of the model is in the file `wmx init` writes (set, or named in
    a comment where it is off by default, as `login:` is)."""
    result = CliRunner().invoke(
        app, ["init", str(tmp_path / "s"), "--defaults", "--server-name", "example.test"]
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "s" / "wmx.yaml").read_text()
    missing = [s for s in SECTIONS if not re.search(rf"^(# .*`)?{s}:", text, re.M)]
    missing += [
        key
        for key in _leaf_settings(SiteConfig)
        if not re.search(rf"\b{key.rpartition('.')[2]}\b", text)
    ]
    assert not missing, "settings wmx init's wmx.yaml does not name: " + ", ".join(missing)


def test_wmx_yaml_comments_state_the_models_defaults(tmp_path: Path) -> None:
    """Each "Default: VALUE." in the comment above a key of `wmx init`'s wmx.yaml is the
    model's default of that key (a default said in words is left to the reader)."""
    site = tmp_path / "s"
    init = ["init", str(site), "--defaults", "--server-name", "example.test"]
    assert CliRunner().invoke(app, init).exit_code == 0
    path: list[str] = []
    comments: list[str] = []
    checked, wrong = 0, []
    for no, line in enumerate((site / "wmx.yaml").read_text().splitlines(), 1):
        key = re.match(r"^( *)([a-z_0-9]+):", line)
        if line.strip().startswith("#"):
            comments.append(line.strip().lstrip("# "))
            continue
        block, comments = " ".join(comments), []
        if key is None:
            continue
        path = [*path[: len(key.group(1)) // 2], key.group(2)]
        stated = re.search(r"Default: (\"\"|\[\]|[^\s.,;]+)(?:\.\s|\.$| \(|$)", block)
        if stated and default_of(".".join(path)) is not _MISSING:
            checked += 1
            value = _value(stated.group(1))
            value = yaml.safe_load(stated.group(1)) if value is _MISSING else value
            if not _same(value, default_of(".".join(path))):
                wrong.append(f"wmx.yaml:{no}: {'.'.join(path)}: Default: {stated.group(1)}")
    assert checked > 60, checked
    assert not wrong, "wmx init's comments state other defaults:\n" + "\n".join(wrong)


# `wmx.site` or `wmx.components.nginx.public_names()` in code, wmx.lab.cinny.repack in prose
# (two dots at least), and `wmx/site/grammars.py: Strict`.
PYTHON_NAME = re.compile(
    r"`(wmx(?:\.[A-Za-z_]\w*)+)(?:\(\))?`|`(wmx/[\w/]+)\.py: (\w+)`"
    r"|(?<![\w./`-])(wmx(?:\.[A-Za-z_]\w*){2,})(?![\w`])"
)
NOT_PYTHON = {"wmx.yaml", "wmx.test", "wmx.yaml.lock"}  # files and a domain


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for attr in parts[end:]:
            if not hasattr(found, attr):
                return False
            found = getattr(found, attr)
        return True
    return False


def test_every_python_name_a_document_gives_exists() -> None:
    """`wmx.components.nginx.public_names`, `wmx/site/grammars.py: Strict`: each module,
    class, function or constant a document names by its dotted name is there."""
    found, missing = 0, []
    for path in DOCS:
        for no, line in enumerate(path.read_text().splitlines(), 1):
            for dotted, module, name, bare in PYTHON_NAME.findall(line):
                dotted = dotted or bare or f"{module.replace('/', '.')}.{name}"
                if dotted not in NOT_PYTHON:
                    found += 1
                    missing += [] if _resolves(dotted) else [f"{path.name}:{no}: {dotted}"]
    assert found > 20, found
    assert not missing, "names of wmx's code that do not exist:\n" + "\n".join(missing)


def _is_choice(key: str) -> bool:
    field = field_of(key)
    assert field is not None
    kinds = typing.get_args(field.annotation) or (field.annotation,)
    return typing.get_origin(field.annotation) is typing.Literal or any(
        typing.get_origin(k) is typing.Literal or (isinstance(k, type) and issubclass(k, enum.Enum))
        for k in kinds
    )


def test_site_input_md_names_every_choice() -> None:
    """docs/site-input.md's list of settings that take one of listed values is every
    setting whose type is a choice (a Literal or an Enum)."""
    text = (ROOT / "docs/site-input.md").read_text()
    listed = text.partition("Choices\n(")[2].partition(")")[0]
    choices = {k for k in _leaf_settings(SiteConfig) if _is_choice(k)}
    assert len(choices) > 5
    assert set(re.findall(r"`([a-z_.]+)`", listed)) == choices
