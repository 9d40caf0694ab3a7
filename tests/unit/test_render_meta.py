"""templates/*/_meta.yml read with libyaml's safe loader (fast) mean what ruamel reads."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from wmx.render.engine import META_FILE, _component_meta
from wmx.resources import data_dir


def test_every_meta_file_reads_the_same_as_with_ruamel() -> None:
    metas = sorted(data_dir("templates").glob(f"*/{META_FILE}"))
    assert len(metas) >= 5
    for path in metas:
        expected = dict(YAML(typ="safe").load(path.read_text()) or {})
        assert _component_meta(path.parent) == expected, path


def test_a_changed_meta_file_is_read_again(tmp_path: Path) -> None:
    (tmp_path / META_FILE).write_text('a.conf:\n  mode: "0600"\n')
    assert _component_meta(tmp_path) == {"a.conf": {"mode": "0600"}}
    (tmp_path / META_FILE).write_text('a.conf:\n  mode: "0640"\n  secret: true\n')
    assert _component_meta(tmp_path) == {"a.conf": {"mode": "0640", "secret": True}}
    assert _component_meta(tmp_path / "none") == {}
