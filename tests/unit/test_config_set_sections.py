"""A section of wmx.yaml takes a map of its keys, never a single value.

`wmx config set synapse.url_previews false` (the short form of wmx.yaml before 0.2,
which the model still reads) replaced the section's block: allow_ranges and
max_page_size_mb went back to their defaults and the section's comments were deleted,
exit 0. `wmx config set turn null` said "a valid dictionary or instance of TurnSettings".
A single value for any section, from the command line or written in wmx.yaml, is now
refused in words naming keys it takes, and the short form is still read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

from wmx.cli import app
from wmx.site import SitePaths, load_config
from wmx.site.model import SiteConfig

runner = CliRunner()


def _sections(model: type[BaseModel] = SiteConfig, prefix: str = "") -> list[str]:
    """Every section's dotted name (a field whose type is a model)."""
    found = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += [f"{prefix}{name}", *_sections(annotation, f"{prefix}{name}.")]
    return found


def _models(model: type[BaseModel] = SiteConfig) -> set[str]:
    """The class names of every model a wmx.yaml is read with, lists' items too."""
    names = {model.__name__}
    for field in model.model_fields.values():
        for kind in [field.annotation, *getattr(field.annotation, "__args__", ())]:
            if isinstance(kind, type) and issubclass(kind, BaseModel) and kind is not model:
                names |= _models(kind)
    return names


SECTIONS = _sections()
CLASS_NAMES = _models()


def _set(site: Path, key: str, value: str) -> Any:
    return runner.invoke(app, ["--site", str(site), "config", "set", key, value])


def _refused(site: Path, key: str, value: str) -> str:
    before = (site / "wmx.yaml").read_bytes()
    result = _set(site, key, value)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: given on the command line: ")
    assert result.stderr.endswith("; wmx.yaml: unchanged\n")
    assert (site / "wmx.yaml").read_bytes() == before
    return str(result.stderr)


def test_every_section_is_found() -> None:
    assert {"turn", "synapse.url_previews", "synapse.email", "backup.retention"} <= set(SECTIONS)


@pytest.mark.parametrize("key", SECTIONS)
@pytest.mark.parametrize("value", ["false", "true", "null", "5", "text"])
def test_a_single_value_for_a_section_is_refused_naming_its_keys(
    site_dir: Path, key: str, value: str
) -> None:
    said = _refused(site_dir, key, value)
    assert f"{key} is a section" in said
    assert re.search(rf"(set|such as) {re.escape(key)}\.\w+", said), said
    assert not any(name in said for name in CLASS_NAMES), said


@pytest.mark.parametrize(
    ("key", "value", "section"),
    [
        ("synapse", "{url_previews: false}", "synapse.url_previews"),
        ("synapse", "{email: null, log_level: ERROR}", "synapse.email"),
        ("backup", "{retention: 7}", "backup.retention"),
    ],
)
def test_a_section_inside_a_map_given_is_refused_too(
    site_dir: Path, key: str, value: str, section: str
) -> None:
    assert f"{section} is a section" in _refused(site_dir, key, value)


def test_url_previews_false_names_the_key_and_keeps_the_section(site_dir: Path) -> None:
    for key, value in [("allow_ranges", "['10.1.0.0/24']"), ("max_page_size_mb", "5")]:
        assert _set(site_dir, f"synapse.url_previews.{key}", value).exit_code == 0
    comments = (site_dir / "wmx.yaml").read_text().count("#")
    said = _refused(site_dir, "synapse.url_previews", "false")
    assert "synapse.url_previews is a section; set synapse.url_previews.enabled false" in said
    assert _set(site_dir, "synapse.url_previews.enabled", "false").exit_code == 0
    previews = load_config(SitePaths(site_dir)).synapse.url_previews
    assert previews.allow_ranges == ["10.1.0.0/24"] and previews.max_page_size_mb == 5
    assert (site_dir / "wmx.yaml").read_text().count("#") == comments


def _short_form(site: Path, value: str) -> None:
    """wmx.yaml as wmx before 0.2 wrote it: `url_previews: true|false`."""
    config = site / "wmx.yaml"
    block = re.compile(r"^  url_previews:\n(?:    .*\n)+", re.M)
    text, count = block.subn(f"  url_previews: {value}\n", config.read_text(), count=1)
    assert count == 1
    config.write_text(text)


def test_the_short_form_of_old_files_is_still_read(site_dir: Path) -> None:
    _short_form(site_dir, "true")
    assert load_config(SitePaths(site_dir)).synapse.url_previews.enabled
    # A map merged into it keeps what the short form said.
    assert _set(site_dir, "synapse.url_previews", "{max_page_size_mb: 5}").exit_code == 0
    previews = load_config(SitePaths(site_dir)).synapse.url_previews
    assert previews.enabled and previews.max_page_size_mb == 5


def test_a_map_given_for_the_section_above_keeps_the_short_forms_meaning(site_dir: Path) -> None:
    _short_form(site_dir, "true")
    given = "{url_previews: {max_page_size_mb: 7}, log_level: ERROR}"
    assert _set(site_dir, "synapse", given).exit_code == 0
    previews = load_config(SitePaths(site_dir)).synapse.url_previews
    assert previews.enabled and previews.max_page_size_mb == 7


def test_a_key_under_the_short_form_spells_it_out(site_dir: Path) -> None:
    _short_form(site_dir, "true")
    assert _set(site_dir, "synapse.url_previews.max_page_size_mb", "9").exit_code == 0
    previews = load_config(SitePaths(site_dir)).synapse.url_previews
    assert previews.enabled and previews.max_page_size_mb == 9
    assert "url_previews: true" not in (site_dir / "wmx.yaml").read_text()


def _minimal() -> dict[str, Any]:
    return {
        "server_name": "example.org",
        "homeserver": {"host": "matrix.example.org"},
        "web_client": {"host": "element.example.org"},
        "contacts": {"admin_email": "admin@example.org"},
        "acme": {"email": "admin@example.org"},
    }


def _with(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    node = data
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return data


@pytest.mark.parametrize("key", SECTIONS)
@pytest.mark.parametrize("value", [None, 5, "text", ["a"]])
def test_a_section_written_as_a_single_value_is_said_in_words(key: str, value: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        SiteConfig.model_validate(_with(_minimal(), key, value))
    (error,) = raised.value.errors()
    assert ".".join(map(str, error["loc"])) == key
    assert "a section, not a single value: give its keys, such as" in error["msg"]
    assert not any(name in error["msg"] for name in CLASS_NAMES)


def test_a_list_of_sections_says_what_an_item_takes() -> None:
    for networks, says in [
        ([5], "a section, not a single value: give its keys, such as name or servers"),
        ([{"name": "x", "servers": [None]}], "a server is host:port or host:port:tls"),
    ]:
        with pytest.raises(ValidationError) as raised:
            SiteConfig.model_validate(_with(_minimal(), "irc_bridge.networks", networks))
        (error,) = raised.value.errors()
        assert says in error["msg"]
        assert not any(name in error["msg"] for name in CLASS_NAMES)


def test_an_empty_section_in_wmx_yaml_is_one_line_naming_its_keys(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    block = re.compile(r"^turn:\n(?:[ #].*\n|\n)+", re.M)
    text, count = block.subn("turn:\n", config.read_text(), count=1)
    assert count == 1
    config.write_text(text)
    result = runner.invoke(app, ["--site", str(site_dir), "config", "validate"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert re.match(
        r"error: .*/wmx\.yaml:\d+: turn: a section, not a single value: give its keys",
        result.stderr,
    )
    assert "TurnSettings" not in result.stderr
