"""A directory swapped for a symbolic link after wmx looked at it, before it writes there,
redirects nothing (wmx.site.placed.open_directory): the directory is opened once, each
component below the place wmx owns without following a link, and the temporary file,
the rename and the flush go through that descriptor.

Before, each place was looked at and then used by its path: whoever could rename a
directory of the site, of `monitoring grafana DIR` or of `backup export-key DIR` between
the look and the write (here: a hook run right after the look) had wmx write there
through a link to wherever it pointed, as whoever ran wmx.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import pytest
from typer.testing import CliRunner

import wmx.grafana
import wmx.render.build_tree
from tests.unit.hostile2_support import init_site, one_line_refusal
from wmx.backup import operations
from wmx.cli import app
from wmx.errors import InputError
from wmx.site import yamlfile
from wmx.site.secrets import load_secrets, store_secret
from wmx.site.state_files import write_state

runner = CliRunner()


def _swap(directory: Path, elsewhere: Path) -> Path:
    """Put a link to `elsewhere` where `directory` was; the directory's new name."""
    moved = directory.with_name(directory.name + ".moved")
    directory.rename(moved)
    directory.symlink_to(elsewhere)
    return moved


def _after(monkeypatch: pytest.MonkeyPatch, target: Any, name: str, then: Any) -> None:
    """Run `then()` once, right after the first call of `target.name` returns."""
    real = getattr(target, name)
    done: list[bool] = []

    def hooked(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if not done:
            done.append(True)
            then()
        return result

    monkeypatch.setattr(target, name, hooked)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_site(tmp_path_factory.mktemp("swapped") / "site")


@pytest.mark.parametrize("swapped", ["dashboards", "provisioning"])
def test_grafana_writes_through_no_directory_linked_after_the_look(
    site: Path, tmp_path: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch, swapped: str
) -> None:
    """`dashboards` holds files; `provisioning` is a component above the files' own."""
    out = tmp_path / "grafana"
    for below in ("datasources", "dashboards"):  # as provisioning/ has them
        (elsewhere / below).mkdir()
    # The look at every file's place is done; then DIR/swapped becomes a link.
    _after(monkeypatch, wmx.grafana, "check_file_place", lambda: _swap(out / swapped, elsewhere))
    result = runner.invoke(app, ["--site", str(site), "monitoring", "grafana", str(out)])
    one_line_refusal(result, f"{swapped}: a symbolic link", "cannot write Grafana's files")
    assert [p for p in elsewhere.rglob("*") if not p.is_dir()] == []


def test_a_key_export_writes_through_no_directory_linked_after_the_look(
    tmp_path: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def export_key(host: Any, repo: str, sink: IO[bytes], *, paper: bool = False) -> None:
        sink.write(b"BORG_KEY secret\n")

    keys = tmp_path / "keys"
    monkeypatch.setattr(operations, "export_key", export_key)
    _after(monkeypatch, operations, "check_file_place", lambda: _swap(keys, elsewhere))
    with pytest.raises(InputError, match="keys: a symbolic link; cannot write a repository's key"):
        list(operations.export_key_files(None, ["a"], keys, "example.test", paper=False))  # type: ignore[arg-type]
    assert list(elsewhere.iterdir()) == []


def test_a_state_record_goes_into_the_directory_looked_at(
    tmp_path: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrades = tmp_path / "site/.wmx/upgrades"
    upgrades.mkdir(parents=True)
    moved: list[Path] = []
    hook = lambda: moved.append(_swap(upgrades, elsewhere))  # noqa: E731
    _after(monkeypatch, yamlfile, "check_file_place", hook)
    write_state(upgrades / "last.json", "{}\n")
    assert list(elsewhere.iterdir()) == []
    assert [p.name for p in moved[0].iterdir()] == ["last.json"]


def test_secrets_yml_goes_into_the_directory_opened_not_one_swapped_in(
    site_dir: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The site's own files follow the operator's links, but a directory renamed and
    linked elsewhere while the file is written takes nothing (the temporary file holds
    every secret)."""
    moved: list[Path] = []
    hook = lambda: moved.append(_swap(site_dir, elsewhere))  # noqa: E731
    _after(monkeypatch, yamlfile, "_remove_orphans", hook)
    store_secret(site_dir / "secrets.yml", "sudo_password", "swapped")
    assert list(elsewhere.iterdir()) == []
    assert load_secrets(moved[0] / "secrets.yml").sudo_password == "swapped"


def test_a_build_tree_swapped_for_a_link_is_refused_not_written_through(
    site_dir: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = wmx.render.build_tree._write_tree

    def swapped(site: Any, rendered: Any, staging: Path) -> None:
        _swap(staging, elsewhere)
        real(site, rendered, staging)

    monkeypatch.setattr(wmx.render.build_tree, "_write_tree", swapped)
    result = runner.invoke(app, ["--site", str(site_dir), "render"])
    one_line_refusal(result, ".build.tmp: a symbolic link; wmx writes the rendered site there")
    assert list(elsewhere.iterdir()) == []
