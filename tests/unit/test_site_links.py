"""A site's input files that are symbolic links out of the site are refused (probe report
item 4): `wmx.yaml -> /etc/shadow` had that file's lines quoted in errors, and
`host_vars/matrix.yml -> …` its content read without a word and copied into the site's
cache. A link within the site is read as before."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLE
from wmx.cli import app
from wmx.errors import InputError
from wmx.site import load_site
from wmx.site.init import init_site
from wmx.site.yamlfile import link_out, read_site_bytes, refuse_link_out

runner = CliRunner()
# In every file linked to: a secret of this machine that no output may show.
MARK = "HASHhashHASHhash"
OUTSIDE_TEXT = f"root$y$j9T$SALT{MARK}: 1\n{MARK}_key: {MARK}\n"


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return init_site(tmp_path / "site", EXAMPLE).root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A private file of this machine, outside the site, that reads as YAML."""
    path = tmp_path / "elsewhere" / "shadow"
    path.parent.mkdir()
    path.write_text(OUTSIDE_TEXT)
    path.chmod(0o600)
    return path


def _snapshot(root: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel == ".wmx.yaml.lock":
            continue
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_file():
            found[rel] = (path.read_bytes(), path.stat().st_mode)
        else:
            found[rel] = ("other", path.lstat().st_mode)
    return found


def _refused(site: Path, args: list[str], *says: str) -> str:
    before = _snapshot(site)
    result = runner.invoke(app, ["--site", str(site), *args])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    assert MARK not in result.output
    for part in says:
        assert part in errors[0], (part, errors[0])
    assert _snapshot(site) == before  # nothing written: no build/, no cache
    return errors[0]


def _passes(site: Path, *args: str) -> None:
    result = runner.invoke(app, ["--site", str(site), *(args or ("config", "validate"))])
    assert result.exit_code == 0, (result.stdout, result.stderr)


@pytest.mark.parametrize("name", ["wmx.yaml", "inventory.yml", "secrets.yml"])
def test_a_site_file_linked_out_of_the_site_is_refused(
    site: Path, outside: Path, name: str
) -> None:
    (site / name).unlink()
    (site / name).symlink_to(outside)
    line = _refused(site, ["render"], f"{site / name}: a symbolic link to {outside}")
    assert "outside the site" in line


def test_a_site_file_linked_out_through_another_link_is_refused(site: Path, outside: Path) -> None:
    # A link inside the site to a link out: where it ends is what counts.
    (site / "inventory.yml").unlink()
    (site / "hop").symlink_to(outside)
    (site / "inventory.yml").symlink_to("hop")
    _refused(
        site, ["config", "validate"], f"{site / 'inventory.yml'}: a symbolic link to {outside}"
    )


@pytest.mark.parametrize(
    "where",
    [
        "host_vars/matrix.yml",
        "group_vars/all.yml",
        "group_vars/homeserver/more.yml",
        "host_vars/matrix.example.org",  # a host's file by any name: Ansible reads it
        "group_vars/all.yml~",
    ],
)
def test_a_vars_file_linked_out_of_the_site_is_refused(
    site: Path, outside: Path, where: str
) -> None:
    (site / where).parent.mkdir(parents=True)
    (site / where).symlink_to(outside)
    _refused(site, ["config", "validate"], f"{site / where}: a symbolic link to {outside}")
    assert not (site / ".wmx" / "cache").exists()  # nothing of it copied into the site


@pytest.mark.parametrize("where", ["group_vars/all", "host_vars", "group_vars"])
def test_a_vars_directory_linked_out_of_the_site_is_refused(
    site: Path, outside: Path, where: str
) -> None:
    (outside.parent / "all.yml").write_text(f"{MARK}: 1\n")
    (site / where).parent.mkdir(parents=True, exist_ok=True)
    (site / where).symlink_to(outside.parent, target_is_directory=True)
    _refused(site, ["config", "validate"], f"{site / where}: a symbolic link to {outside.parent}")


def test_a_vars_directory_linked_to_etc_is_not_walked(site: Path) -> None:
    (site / "group_vars").mkdir()
    (site / "group_vars" / "all").symlink_to("/etc", target_is_directory=True)
    _refused(site, ["config", "validate"], f"{site / 'group_vars' / 'all'}: a symbolic link")


def test_a_hidden_link_out_is_left_alone_as_ansible_does(site: Path, outside: Path) -> None:
    (site / "group_vars").mkdir()
    (site / "group_vars" / ".all.yml.swp").symlink_to(outside)
    _passes(site)
    assert MARK not in (site / ".wmx" / "cache" / "inventory.json").read_text()


def test_a_link_to_a_device_outside_still_says_what_it_is(site: Path) -> None:
    (site / "host_vars").mkdir()
    (site / "host_vars" / "matrix.example.org").symlink_to("/dev/zero")
    _refused(site, ["config", "validate"], "is a character device, not a regular file")


def test_links_within_the_site_are_read(site: Path) -> None:
    for name in ("wmx.yaml", "inventory.yml", "secrets.yml"):
        (site / "kept").mkdir(exist_ok=True)
        (site / name).rename(site / "kept" / name)
        (site / name).symlink_to(Path("kept") / name)
    (site / "shared").mkdir()
    (site / "shared" / "all.yml").write_text("site_note: shared\n")
    (site / "group_vars").mkdir()
    (site / "group_vars" / "all.yml").symlink_to("../shared/all.yml")
    (site / "shared" / "homeserver").mkdir()
    (site / "shared" / "homeserver" / "x.yml").write_text("public_ipv4: 198.51.100.7\n")
    (site / "group_vars" / "homeserver").symlink_to("../shared/homeserver")
    _passes(site, "render")
    loaded = load_site(site)
    assert loaded.topology.the("homeserver").vars["site_note"] == "shared"
    assert loaded.topology.the("homeserver").vars["public_ipv4"] == "198.51.100.7"
    _passes(site, "config", "set", "synapse.max_upload_size_mb", "77")
    assert (site / "wmx.yaml").is_symlink()
    assert "max_upload_size_mb: 77" in (site / "kept" / "wmx.yaml").read_text()


def test_a_site_reached_through_a_link_is_read(site: Path, tmp_path: Path) -> None:
    (tmp_path / "linked").symlink_to(site, target_is_directory=True)
    _passes(tmp_path / "linked")


def test_secrets_linked_out_are_refused_before_their_mode_is_judged(
    site: Path, tmp_path: Path
) -> None:
    # Another site's secrets.yml would load: this site's render would send them to its
    # own hosts. Nor is anyone told to chmod a file outside the site.
    other = init_site(tmp_path / "other", EXAMPLE).root
    (other / "secrets.yml").chmod(0o644)
    (site / "secrets.yml").unlink()
    (site / "secrets.yml").symlink_to(other / "secrets.yml")
    line = _refused(site, ["render"], f"{site / 'secrets.yml'}: a symbolic link to")
    assert "chmod" not in line


def test_a_file_swapped_while_read_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("a: 1\n")
    (tmp_path / "b.yml").write_text("b: 1\n")
    fd = os.open(tmp_path / "a.yml", os.O_RDONLY)
    try:
        with pytest.raises(InputError, match=r"b\.yml: changed while wmx read it"):
            refuse_link_out(tmp_path / "b.yml", tmp_path, opened=fd)
    finally:
        os.close(fd)


def test_a_link_that_cannot_be_followed_counts_as_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "all").symlink_to("/proc/1/root/etc")

    def denied(path: object) -> str:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os.path, "realpath", denied)
    assert link_out(tmp_path / "all", tmp_path) == "/proc/1/root/etc"


def test_a_vars_file_read_alone_is_confined_to_its_site(tmp_path: Path, outside: Path) -> None:
    # Read for a line number (inventory_lines), with no site named: the site is the
    # directory holding group_vars/, so a link within it is read, one out of it is not.
    site = tmp_path / "site"
    (site / "group_vars" / "all").mkdir(parents=True)
    (site / "shared.yml").write_text("a: 1\n")
    (site / "group_vars" / "all" / "in.yml").symlink_to(site / "shared.yml")
    (site / "group_vars" / "all" / "out.yml").symlink_to(outside)
    assert read_site_bytes(site / "group_vars" / "all" / "in.yml") == b"a: 1\n"
    with pytest.raises(InputError, match="outside the site"):
        read_site_bytes(site / "group_vars" / "all" / "out.yml")
