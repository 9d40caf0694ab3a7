"""A site's inventory cache is taken only when this user's wmx sealed it (probe report
item 1): a site is shared, and anyone can compute the cache's key, so a planted cache had
a checked-and-cached read stand for an inventory that Ansible would read unchecked."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLE
from tests.unit.one_host_inventory import count_ansible_reads
from tests.unit.test_inventory_cache import INVENTORY
from wmx.cli import app
from wmx.errors import InputError
from wmx.site.init import init_site
from wmx.site.inventory import load_topology
from wmx.site.inventory_cache import KEY_FILE, _make_key, inputs_digest

PROXY_COMMAND = '      ansible_ssh_common_args: "-oProxyCommand=touch /tmp/planted"\n'


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This user's cache directory, where the key lives: the test's own."""
    home = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir()
    path = tmp_path / "site" / "inventory.yml"
    path.write_text(INVENTORY)
    return path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The reads that go through Ansible (not from the cache)."""
    return count_ansible_reads(monkeypatch)


def _cache(inventory_path: Path) -> Path:
    return inventory_path.parent / ".wmx" / "cache" / "inventory.json"


def _rekey(inventory_path: Path) -> None:
    """What anyone can do: give the cache the key of the inventory as it is now."""
    document = json.loads(_cache(inventory_path).read_text())
    document["key"] = inputs_digest(inventory_path)
    _cache(inventory_path).write_text(json.dumps(document))


def test_a_cache_rekeyed_for_an_edited_inventory_is_not_taken(site: Path) -> None:
    load_topology(site, _cache(site))
    site.write_text(INVENTORY.replace("      memory_mb: 2048\n", PROXY_COMMAND))
    _rekey(site)
    with pytest.raises(InputError, match=r"ansible_ssh_common_args: ssh option ProxyCommand"):
        load_topology(site, _cache(site))


def test_a_cache_written_from_scratch_is_not_taken(site: Path, reads: list[Path]) -> None:
    site.write_text(INVENTORY.replace("      memory_mb: 2048\n", PROXY_COMMAND))
    _cache(site).parent.mkdir(parents=True)
    hosts = {"matrix": {"groups": ["database", "homeserver", "proxy"], "vars": {}}}
    planted = {"key": inputs_digest(site), "hosts": hosts, "seal": "0" * 64}
    _cache(site).write_text(json.dumps(planted))
    with pytest.raises(InputError, match=r"ssh option ProxyCommand"):
        load_topology(site, _cache(site))
    assert len(reads) == 1
    assert json.loads(_cache(site).read_text()) == planted  # refused: nothing written


def test_a_planted_cache_does_not_pass_the_command_line(tmp_path: Path) -> None:
    root = init_site(tmp_path / "site", EXAMPLE).root
    runner = CliRunner()
    assert runner.invoke(app, ["--site", str(root), "config", "validate"]).exit_code == 0
    text = (root / "inventory.yml").read_text()
    (root / "inventory.yml").write_text(
        text.replace("      ansible_user: root\n", "      ansible_user: root\n" + PROXY_COMMAND)
    )
    _rekey(root / "inventory.yml")
    result = runner.invoke(app, ["--site", str(root), "config", "validate"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "ProxyCommand" in errors[0], result.stderr
    assert "Traceback" not in result.output


def test_an_edited_cache_is_ignored_and_written_again(site: Path, reads: list[Path]) -> None:
    load_topology(site, _cache(site))
    document = json.loads(_cache(site).read_text())
    document["hosts"]["matrix"]["vars"]["ansible_host"] = "198.51.100.99"
    _cache(site).write_text(json.dumps(document))
    assert load_topology(site, _cache(site)).the("homeserver").address == "203.0.113.10"
    assert len(reads) == 2
    assert load_topology(site, _cache(site)).the("homeserver").address == "203.0.113.10"
    assert len(reads) == 2  # the cache written again, and taken


def test_another_users_cache_is_ignored_and_written_again(
    site: Path, reads: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_topology(site, _cache(site))
    load_topology(site, _cache(site))
    assert len(reads) == 1  # the cache still saves the read
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-user"))
    load_topology(site, _cache(site))
    assert len(reads) == 2
    load_topology(site, _cache(site))
    assert len(reads) == 2


def test_a_cache_of_the_old_format_is_ignored(site: Path, reads: list[Path]) -> None:
    load_topology(site, _cache(site))
    document = json.loads(_cache(site).read_text())
    del document["seal"]
    _cache(site).write_text(json.dumps(document))
    load_topology(site, _cache(site))
    assert len(reads) == 2
    assert "seal" in json.loads(_cache(site).read_text())


def test_the_key_is_made_private_outside_the_site(site: Path, user_cache: Path) -> None:
    load_topology(site, _cache(site))
    key = user_cache / "wmx" / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.stat().st_size == 32
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in key.parent.iterdir()) == [KEY_FILE]  # no spare left
    assert key.read_bytes() not in _cache(site).read_bytes()


def test_a_key_made_first_by_another_run_is_kept(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir()
    _make_key(directory, directory / KEY_FILE)
    first = (directory / KEY_FILE).read_bytes()
    _make_key(directory, directory / KEY_FILE)
    assert (directory / KEY_FILE).read_bytes() == first
    assert sorted(p.name for p in directory.iterdir()) == [KEY_FILE]


def _no_cache(site: Path, reads: list[Path]) -> None:
    load_topology(site, _cache(site))
    load_topology(site, _cache(site))
    assert len(reads) == 2
    assert not _cache(site).exists()


def test_no_key_directory_means_no_cache(
    site: Path, reads: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    _no_cache(site, reads)


@pytest.mark.parametrize("kind", ["link", "readable", "short", "directory"])
def test_a_key_that_is_not_private_means_no_cache(
    site: Path, reads: list[Path], user_cache: Path, tmp_path: Path, kind: str
) -> None:
    key = user_cache / "wmx" / KEY_FILE
    key.parent.mkdir(parents=True)
    if kind == "link":
        (tmp_path / "elsewhere").write_bytes(b"k" * 32)
        (tmp_path / "elsewhere").chmod(0o600)
        key.symlink_to(tmp_path / "elsewhere")
    elif kind == "directory":
        key.mkdir()
    else:
        key.write_bytes(b"k" * (32 if kind == "readable" else 31))
        key.chmod(0o644 if kind == "readable" else 0o600)
    _no_cache(site, reads)
    assert key.is_symlink() == (kind == "link")  # left as it was: not wmx's to replace


def test_a_key_directory_others_may_write_means_no_cache(
    site: Path, reads: list[Path], user_cache: Path
) -> None:
    (user_cache / "wmx").mkdir(parents=True)
    (user_cache / "wmx").chmod(0o777)
    _no_cache(site, reads)


def test_a_key_directory_inside_the_site_means_no_cache(
    site: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A site could ship the key too: one found in it is no secret of the user's.
    monkeypatch.setenv("XDG_CACHE_HOME", str(site.parent / "cache-home"))
    _no_cache(site, reads)


def test_a_relative_cache_home_is_not_used(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Relative to where wmx runs (the site, often): the XDG rules say to ignore it.
    monkeypatch.setenv("XDG_CACHE_HOME", "cache-home")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(site.parent)
    load_topology(site, _cache(site))
    assert not (site.parent / "cache-home").exists()
    assert (tmp_path / "home" / ".cache" / "wmx" / KEY_FILE).is_file()
    assert _cache(site).is_file()


def test_the_key_directory_keeps_its_mode(site: Path, user_cache: Path) -> None:
    # ~/.cache/wmx made 0755 by another tool: the key alone is private, and is used.
    (user_cache / "wmx").mkdir(parents=True, mode=0o755)
    os.chmod(user_cache / "wmx", 0o755)
    load_topology(site, _cache(site))
    assert stat.S_IMODE((user_cache / "wmx").stat().st_mode) == 0o755
    assert _cache(site).is_file()
