"""The cache of the inventory's read (wmx.site.inventory_cache, issue 18): any change of
an input gives a full read through Ansible, a broken cache is ignored, and what a cache
holds passes the same checks as a fresh read."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from tests.unit.one_host_inventory import count_ansible_reads
from wmx.errors import InputError
from wmx.site import load_site
from wmx.site.init import InitAnswers, init_site
from wmx.site.inventory import load_topology, read_inventory
from wmx.site.inventory_cache import inputs_digest, load_cached, store

INVENTORY = """\
all:
  hosts:
    matrix:
      ansible_host: 203.0.113.10
      memory_mb: 2048
  children:
    database: {hosts: {matrix: }}
    homeserver: {hosts: {matrix: }}
    proxy: {hosts: {matrix: }}
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY)
    return path


def _cache(inventory_path: Path) -> Path:
    return inventory_path.parent / ".wmx" / "cache" / "inventory.json"


@pytest.fixture
def no_ansible(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Counts the reads that go through Ansible (they still do)."""
    return count_ansible_reads(monkeypatch)


def test_a_second_read_comes_from_the_cache(site: Path, no_ansible: list[Path]) -> None:
    first = load_topology(site, _cache(site))
    assert stat.S_IMODE(_cache(site).stat().st_mode) == 0o600
    assert stat.S_IMODE((site.parent / ".wmx").stat().st_mode) == 0o700
    second = load_topology(site, _cache(site))
    assert second == first
    assert len(no_ansible) == 1
    assert second.the("homeserver").address == "203.0.113.10"
    assert not list(_cache(site).parent.glob(".inventory.*"))  # no temporary file left


def test_no_cache_file_means_every_read_is_fresh(site: Path, no_ansible: list[Path]) -> None:
    load_topology(site)
    load_topology(site)
    assert len(no_ansible) == 2
    assert not (site.parent / ".wmx").exists()


@pytest.mark.parametrize("link", [".wmx", ".wmx/cache"])
def test_the_cache_is_never_written_through_a_link(site: Path, tmp_path: Path, link: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (site.parent / link).parent.mkdir(exist_ok=True)
    (site.parent / link).symlink_to(elsewhere)
    load_topology(site, _cache(site))
    assert not list(elsewhere.iterdir())


def test_an_edited_inventory_is_read_again(site: Path, no_ansible: list[Path]) -> None:
    load_topology(site, _cache(site))
    site.write_text(INVENTORY.replace("203.0.113.10", "203.0.113.20"))
    assert load_topology(site, _cache(site)).the("homeserver").address == "203.0.113.20"
    assert len(no_ansible) == 2


@pytest.mark.parametrize("where", ["group_vars/all.yml", "group_vars/homeserver/x.yml"])
def test_edited_group_vars_are_read_again(site: Path, no_ansible: list[Path], where: str) -> None:
    assert load_topology(site, _cache(site)).the("homeserver").memory_mb == 2048
    site.write_text(INVENTORY.replace("      memory_mb: 2048\n", ""))
    group_vars = site.parent / where
    group_vars.parent.mkdir(parents=True)
    group_vars.write_text("memory_mb: 4096\n")
    assert load_topology(site, _cache(site)).the("homeserver").memory_mb == 4096
    group_vars.write_text("memory_mb: 8192\n")
    assert load_topology(site, _cache(site)).the("homeserver").memory_mb == 8192
    assert len(no_ansible) == 3


def test_new_host_vars_are_read(site: Path, no_ansible: list[Path]) -> None:
    load_topology(site, _cache(site))
    (site.parent / "host_vars").mkdir()
    (site.parent / "host_vars" / "matrix.yml").write_text("ansible_host: 198.51.100.7\n")
    assert load_topology(site, _cache(site)).the("homeserver").address == "198.51.100.7"
    assert len(no_ansible) == 2


def test_ansible_settings_are_part_of_the_key(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = inputs_digest(site)
    monkeypatch.setenv("ANSIBLE_VARS_ENABLED", "host_group_vars")
    assert inputs_digest(site) != before


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not json {",
        "[]",
        '{"key": "0", "hosts": {}}',
        '{"key": "KEY", "hosts": {"matrix": {"groups": "proxy", "vars": {}}}}',
        '{"key": "KEY", "hosts": {"matrix": {"groups": [], "vars": []}}}',
        '{"key": "KEY", "hosts": {"matrix": {"groups": [1], "vars": {}}}}',
        '{"key": "KEY", "hosts": {"matrix": {"groups": [], "vars": {}, "x": 1}}}',
        '{"key": "KEY"}',
    ],
)
def test_a_broken_cache_is_ignored(site: Path, no_ansible: list[Path], content: str) -> None:
    expected = load_topology(site)
    _cache(site).parent.mkdir(parents=True)
    _cache(site).write_text(content.replace("KEY", inputs_digest(site)))
    assert load_topology(site, _cache(site)) == expected
    assert len(no_ansible) == 2
    # …and replaced by a good one.
    assert load_topology(site, _cache(site)) == expected
    assert len(no_ansible) == 2


def _poison(site: Path, **values: Any) -> None:
    """A cache whose key and seal are right (as if this user's wmx had written it) but
    whose content a fresh read would never give."""
    load_topology(site, _cache(site))
    hosts = load_cached(_cache(site), inputs_digest(site))
    assert hosts is not None
    hosts["matrix"][1].update(values)
    store(_cache(site), inputs_digest(site), hosts)


def test_a_cached_template_is_refused(site: Path, no_ansible: list[Path]) -> None:
    _poison(site, ansible_host="{{ lookup('pipe', 'id') }}")
    with pytest.raises(InputError, match=r"matrix\.ansible_host: a template"):
        read_inventory(site, _cache(site))
    assert len(no_ansible) == 1  # refused from the cache itself


def test_a_cached_memory_size_is_checked(site: Path) -> None:
    _poison(site, memory_mb=1)
    with pytest.raises(InputError, match=r"matrix\.memory_mb: must be a whole number"):
        load_topology(site, _cache(site))


def _init(tmp_path: Path) -> Path:
    answers = InitAnswers(
        server_name="example.org",
        homeserver_host="matrix.example.org",
        web_client_host="element.example.org",
        admin_email="admin@example.org",
        acme_email="acme@example.org",
    )
    return init_site(tmp_path / "site", answers).root


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ansible_host": "10.0.0.1 tcp dport 22 drop ;"}, "matrix.ansible_host: '10.0.0.1 tcp"),
        ({"rename": "../escape"}, "host '../escape' is not a host name"),
    ],
)
def test_a_cached_read_of_a_site_still_refuses_hostile_values(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    root = _init(tmp_path)
    load_site(root)
    cache = root / ".wmx" / "cache" / "inventory.json"
    key = inputs_digest(root / "inventory.yml")
    hosts = load_cached(cache, key)  # sealed by this user's wmx: taken, and checked
    assert hosts is not None
    if "rename" in change:
        hosts[change["rename"]] = hosts.pop("matrix")
    else:
        hosts["matrix"][1].update(change)
    store(cache, key, hosts)
    with pytest.raises(InputError) as refused:
        load_site(root)
    assert message in str(refused.value)


def test_a_site_loads_the_same_from_its_cache(tmp_path: Path) -> None:
    root = _init(tmp_path)
    fresh = load_site(root)
    assert (root / ".wmx" / "cache" / "inventory.json").is_file()
    assert load_site(root).topology == fresh.topology


@pytest.mark.parametrize(
    "edit",
    [
        ("ansible_host: 203.0.113.10", "ansible_host: '10.0.0.1 tcp dport 22 drop ;'"),
        (
            "    proxy: {hosts: {matrix: }}",
            "    proxy: {hosts: {matrix: }}\n    monitorng: {hosts: {matrix: }}",
        ),
        ("    matrix:\n", "    ../x:\n      memory_mb: 2048\n    matrix:\n"),
    ],
    ids=["address", "unknown-group", "host-name"],
)
def test_a_refused_inventory_leaves_no_cache(site: Path, edit: tuple[str, str]) -> None:
    # A user error writes nothing, the cache under .wmx/ included.
    site.write_text(INVENTORY.replace(*edit))
    with pytest.raises(InputError):
        load_topology(site, _cache(site))
    assert not _cache(site).exists()
    assert not (site.parent / ".wmx").exists()


def test_a_site_refused_for_its_secrets_leaves_no_cache(tmp_path: Path) -> None:
    """A command refused for a site error writes nothing in the site: the inventory's
    read is kept only when secrets.yml passes too (it had been kept before the command
    read secrets.yml and refused it)."""
    root = _init(tmp_path)
    secrets = root / "secrets.yml"
    kept = secrets.read_text()
    secrets.write_text(kept + "bogus_secret: 1\n")
    load_site(root)  # wmx.yaml and the inventory pass; commands read secrets.yml after
    assert not (root / ".wmx").exists()
    secrets.write_text(kept)
    load_site(root)
    assert (root / ".wmx" / "cache" / "inventory.json").is_file()


def test_a_site_refused_across_its_files_leaves_no_cache(tmp_path: Path) -> None:
    """The inventory passes alone, but not with wmx.yaml (a workers group holding the
    homeserver's host): refused, and nothing kept."""
    root = _init(tmp_path)
    inventory_path = root / "inventory.yml"
    workers = "    synapse_workers:\n      hosts:\n        matrix:\n"
    inventory_path.write_text(
        inventory_path.read_text().replace("    turn:\n", workers + "    turn:\n")
    )
    with pytest.raises(InputError, match="synapse_workers"):
        load_site(root)
    assert not (root / ".wmx").exists()
