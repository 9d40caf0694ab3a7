"""pki/ and its files are wmx's own (wmx/site/pki.py): no symbolic link there is read or
written through, whether it leads out of the site or stays in it. A render had written a
private key over a linked database.key's target, read another site's CA and key into
build/ through a linked pki/, and `secrets rotate database_ca` wrote into a linked pki/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.resources import data_dir
from wmx.site.pki import (
    CA_CERT,
    CA_KEY,
    PKI_DIR,
    SERVER_CERT,
    SERVER_KEY,
    PkiError,
    database_tls,
    rotate_database_ca,
)
from wmx.site.secrets import Secrets, write_secrets

NAMES = ("db1", "10.0.0.11")
GITIGNORE = ".gitignore"
VICTIM = "operator data, not a key\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file of the operator's, outside the site (beside it)."""
    (tmp_path / "victim").write_text(VICTIM)
    return tmp_path / "victim"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _split_site(tmp_path: Path, name: str = "sre") -> Path:
    """A site whose PostgreSQL has clients on other hosts: its render uses pki/."""
    root = tmp_path / name
    shutil.copytree(data_dir("inventories") / "sre", root)
    write_secrets(root / "secrets.yml", Secrets.generate())
    return root


@pytest.mark.parametrize("name", [SERVER_KEY, SERVER_CERT, CA_KEY, CA_CERT])
def test_a_file_of_pki_linked_out_is_refused_and_its_target_never_written(
    tmp_path: Path, victim: Path, name: str
) -> None:
    site = tmp_path / "site"
    (site / PKI_DIR).mkdir(parents=True, mode=0o700)
    (site / PKI_DIR / name).symlink_to(victim)
    with pytest.raises(PkiError, match=rf"{PKI_DIR}/{name}: a symbolic link") as caught:
        database_tls(site, NAMES, "example.test")
    assert "\n" not in str(caught.value)
    assert victim.read_text() == VICTIM
    # Nothing made beside the link either: the look comes before any write.
    assert sorted(os.listdir(site / PKI_DIR)) == [name]


def test_a_file_of_pki_linked_within_the_site_is_refused_too(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    database_tls(site, NAMES, "example.test")
    kept = site / "kept.crt"
    shutil.copy(site / PKI_DIR / CA_CERT, kept)
    (site / PKI_DIR / CA_CERT).unlink()
    (site / PKI_DIR / CA_CERT).symlink_to(kept)
    with pytest.raises(PkiError, match=rf"{CA_CERT}: a symbolic link"):
        database_tls(site, NAMES, "example.test")


def test_a_dangling_link_in_pki_is_refused_and_nothing_is_made_where_it_points(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    (site / PKI_DIR).mkdir(parents=True, mode=0o700)
    target = tmp_path / "outside" / "made-here"
    target.parent.mkdir()
    (site / PKI_DIR / SERVER_KEY).symlink_to(target)
    with pytest.raises(PkiError, match="a symbolic link"):
        database_tls(site, NAMES, "example.test")
    assert not target.exists()


def test_a_linked_gitignore_in_pki_is_refused(tmp_path: Path, victim: Path) -> None:
    site = tmp_path / "site"
    (site / PKI_DIR).mkdir(parents=True, mode=0o700)
    (site / PKI_DIR / GITIGNORE).symlink_to(victim)
    with pytest.raises(PkiError, match=rf"{GITIGNORE}: a symbolic link"):
        database_tls(site, NAMES, "example.test")
    assert victim.read_text() == VICTIM


def test_pki_linked_to_another_sites_pki_is_neither_read_nor_written(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    database_tls(other, NAMES, "other.test")
    before = _tree(other / PKI_DIR)
    site = tmp_path / "site"
    site.mkdir()
    (site / PKI_DIR).symlink_to(other / PKI_DIR)
    with pytest.raises(PkiError, match=rf"{PKI_DIR}: a symbolic link") as caught:
        database_tls(site, ("db9", "10.0.0.99"), "example.test")
    assert "PRIVATE KEY" not in str(caught.value)
    assert _tree(other / PKI_DIR) == before


def test_render_with_pki_linked_to_another_site_refuses_in_one_line_and_writes_no_build(
    tmp_path: Path,
) -> None:
    other = _split_site(tmp_path, "other")
    runner = CliRunner()
    assert runner.invoke(app, ["--site", str(other), "render"]).exit_code == 0
    keys = _tree(other / PKI_DIR)
    root = _split_site(tmp_path)
    (root / PKI_DIR).symlink_to(other / PKI_DIR)
    refused = runner.invoke(app, ["--site", str(root), "render"])
    assert refused.exit_code == 2, refused.stderr
    assert refused.stderr.strip().count("\n") == 0, refused.stderr
    assert f"{root / PKI_DIR}: a symbolic link" in refused.stderr
    assert "Traceback" not in refused.stderr and "PRIVATE KEY" not in refused.stdout
    assert not (root / "build").exists()
    assert _tree(other / PKI_DIR) == keys


def test_rotate_into_a_linked_pki_writes_nothing_there(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    site = tmp_path / "site"
    site.mkdir()
    (site / PKI_DIR).symlink_to(outside)
    with pytest.raises(PkiError, match=rf"{PKI_DIR}: a symbolic link"):
        rotate_database_ca(site, "example.test")
    assert os.listdir(outside) == []


def test_rotate_over_a_linked_ca_key_leaves_its_target(tmp_path: Path, victim: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    database_tls(site, NAMES, "example.test")
    (site / PKI_DIR / CA_KEY).unlink()
    (site / PKI_DIR / CA_KEY).symlink_to(victim)
    ca = (site / PKI_DIR / CA_CERT).read_bytes()
    with pytest.raises(PkiError, match=rf"{CA_KEY}: a symbolic link"):
        rotate_database_ca(site, "example.test")
    assert victim.read_text() == VICTIM
    assert (site / PKI_DIR / CA_CERT).read_bytes() == ca


def test_rotate_through_the_cli_refuses_a_linked_pki_with_exit_2(
    site_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (site_dir / PKI_DIR).symlink_to(outside)
    args = ["--site", str(site_dir), "secrets", "rotate", "database_ca", "--yes"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2, refused.stderr
    assert refused.stderr.strip().count("\n") == 0, refused.stderr
    assert "a symbolic link" in refused.stderr and "Traceback" not in refused.stderr
    assert os.listdir(outside) == []


def test_a_site_reached_through_a_link_keeps_its_pki(tmp_path: Path) -> None:
    """The site's own directory may be a link (where it lives is the operator's choice):
    only pki/ and what is in it may not."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "via").symlink_to(real)
    first = database_tls(tmp_path / "via", NAMES, "example.test")
    assert database_tls(tmp_path / "via", NAMES, "example.test") == first
    assert (real / PKI_DIR / CA_KEY).is_file()


def test_a_fifo_in_pki_is_refused_without_waiting(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    database_tls(site, NAMES, "example.test")
    (site / PKI_DIR / SERVER_CERT).unlink()
    os.mkfifo(site / PKI_DIR / SERVER_CERT)
    with pytest.raises(PkiError, match=rf"{SERVER_CERT}: is a FIFO"):
        database_tls(site, NAMES, "example.test")
