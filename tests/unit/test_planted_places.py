"""Where wmx writes a file of its own, a symbolic link, FIFO or device planted there is
refused in one line naming it (exit 2), never written through or waited on, and a failed
write loses no file (wmx.site.placed).

`wmx monitoring grafana DIR` had written through DIR/dashboards/wmx-host.json ->
/etc/passwd, through a linked DIR or DIR/dashboards, and hung on a FIFO; `user import
--passwords-out` had appended passwords through a link, to a file others read, and hung
on a FIFO; the admin token went through a planted `.admin-token.tmp`; records under
.wmx/ (upgrade records, the deployed site record) through a link at their name.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tests.unit.hostile2_support import init_site, one_line_refusal
from wmx.admin.account import write_token
from wmx.admin.user_import import ImportRow, import_users
from wmx.backup import operations
from wmx.cli import app
from wmx.errors import InputError, WmxError
from wmx.site.state_files import write_state

runner = CliRunner()
SECRET = "do not overwrite me\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_site(tmp_path_factory.mktemp("placed") / "site")


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim"
    path.write_text(SECRET)
    return path


def _run_grafana(site: Path, directory: Path) -> Result:
    return runner.invoke(app, ["--site", str(site), "monitoring", "grafana", str(directory)])


def _grafana(site: Path, directory: Path, *says: str) -> str:
    return one_line_refusal(_run_grafana(site, directory), *says)


def _files(directory: Path) -> list[str]:
    return sorted(
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and not p.is_symlink()
    )


def test_grafana_refuses_a_link_where_a_dashboard_goes(
    site: Path, tmp_path: Path, victim: Path
) -> None:
    out = tmp_path / "grafana"
    (out / "dashboards").mkdir(parents=True)
    (out / "dashboards/wmx-host.json").symlink_to(victim)
    line = _grafana(site, out, "wmx-host.json: a symbolic link", "cannot write Grafana's files")
    assert str(victim) not in line
    assert victim.read_text() == SECRET
    assert _files(out) == []  # every place looked at before a file is written


def test_grafana_refuses_a_dangling_link(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "grafana"
    (out / "provisioning/datasources").mkdir(parents=True)
    (out / "provisioning/datasources/wmx.yaml").symlink_to(tmp_path / "made-elsewhere")
    _grafana(site, out, "wmx.yaml: a symbolic link")
    assert not (tmp_path / "made-elsewhere").exists()


def test_grafana_refuses_a_directory_below_dir_linked_elsewhere(site: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "grafana"
    out.mkdir()
    (out / "dashboards").symlink_to(elsewhere)
    _grafana(site, out, "dashboards: a symbolic link")
    assert list(elsewhere.iterdir()) == []


def test_grafana_refuses_dir_itself_a_link(site: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "grafana").symlink_to(elsewhere)
    _grafana(site, tmp_path / "grafana", "grafana: a symbolic link")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.timeout(30)  # the old code waited on the FIFO for a reader
@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_grafana_refuses_a_fifo_or_directory_where_a_file_goes(
    site: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "grafana"
    (out / "dashboards").mkdir(parents=True)
    place = out / "dashboards/wmx-overview.json"
    if kind == "fifo":
        os.mkfifo(place)
    else:
        place.mkdir()
    says = "is a FIFO, not a regular file" if kind == "fifo" else "is a directory, not a regular"
    _grafana(site, out, says)
    assert _files(out) == []


def test_grafana_writes_again_over_its_own_files_keeping_their_mode(
    site: Path, tmp_path: Path
) -> None:
    out = tmp_path / "grafana"
    first = _run_grafana(site, out)
    assert first.exit_code == 0, first.output
    dashboard = out / "dashboards/wmx-host.json"
    dashboard.chmod(0o640)
    again = _run_grafana(site, out)
    assert again.exit_code == 0, again.output
    assert stat.S_IMODE(dashboard.stat().st_mode) == 0o640
    assert len(_files(out)) == 6


def test_grafana_keeps_the_old_file_when_a_write_fails(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "grafana"
    assert _run_grafana(site, out).exit_code == 0
    before = {name: (out / name).read_bytes() for name in _files(out)}
    (out / "dashboards/wmx-host.json").write_text("{}\n")
    before["dashboards/wmx-host.json"] = b"{}\n"

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("wmx.site.yamlfile.os.fsync", full)
    result = _run_grafana(site, out)
    assert result.exit_code == 1
    assert "cannot be written (No space left on device); it was left as it was" in result.stderr
    assert {name: (out / name).read_bytes() for name in _files(out)} == before


# --- user import --passwords-out --------------------------------------------------------


class FakeUsers:
    def __init__(self) -> None:
        self.created: list[str] = []

    def exists(self, user_id: str) -> bool:
        return False

    def create(self, user_id: str, password: str, **kwargs: Any) -> None:
        self.created.append(user_id)


class FakeAdmin:
    def __init__(self) -> None:
        self.users = FakeUsers()


ROWS = [ImportRow(2, "@a:example.test", None, None, False, None)]


def _import(out: Path) -> FakeAdmin:
    admin = FakeAdmin()
    import_users(admin, ROWS, out)  # type: ignore[arg-type]
    return admin


def test_passwords_out_through_a_link_is_refused_before_any_account(
    tmp_path: Path, victim: Path
) -> None:
    out = tmp_path / "passwords.csv"
    out.symlink_to(victim)
    admin = FakeAdmin()
    with pytest.raises(InputError, match=r"passwords\.csv: a symbolic link"):
        import_users(admin, ROWS, out)  # type: ignore[arg-type]
    assert admin.users.created == []
    assert victim.read_text() == SECRET


@pytest.mark.timeout(30)  # the old code waited on the FIFO for a reader
def test_passwords_out_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    out = tmp_path / "passwords.csv"
    os.mkfifo(out)
    with pytest.raises(InputError, match="a FIFO no process reads"):
        _import(out)


def test_passwords_out_readable_by_others_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "passwords.csv"
    out.write_text("")
    out.chmod(0o644)
    with pytest.raises(InputError, match=r"readable by others \(mode 0644\).*chmod 600"):
        _import(out)
    assert out.read_text() == ""


def test_passwords_out_new_file_is_private_and_holds_the_password(tmp_path: Path) -> None:
    out = tmp_path / "passwords.csv"
    admin = _import(out)
    assert admin.users.created == ["@a:example.test"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().startswith("@a:example.test,")


def test_passwords_out_a_failed_write_says_which_account_lost_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("wmx.admin.user_import.os.fsync", full)
    with pytest.raises(WmxError, match=r"@a:example\.test was created but its generated password"):
        _import(tmp_path / "passwords.csv")


# --- backup export-key --------------------------------------------------------------------


def _export(directory: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    exported: list[str] = []
    monkeypatch.setattr(
        operations, "export_key_file", lambda host, label, path, paper: exported.append(label)
    )
    list(operations.export_key_files(None, ["a", "b"], directory, "example.test", paper=False))  # type: ignore[arg-type]
    return exported


def test_export_key_refuses_a_link_where_a_key_goes_before_any_export(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "example.test-b.borg-key").symlink_to(victim)
    exported: list[str] = []
    with pytest.raises(InputError, match=r"example\.test-b\.borg-key: a symbolic link"):
        exported = _export(tmp_path, monkeypatch)
    assert exported == []
    assert victim.read_text() == SECRET


def test_export_key_refuses_a_linked_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keys").symlink_to(tmp_path)
    with pytest.raises(InputError, match="keys: a symbolic link"):
        _export(tmp_path / "keys", monkeypatch)


def test_export_key_writes_into_a_new_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _export(tmp_path / "new/keys", monkeypatch) == ["a", "b"]


# --- what wmx keeps for itself -------------------------------------------------------------


def test_the_admin_token_goes_through_no_planted_temporary_file(
    tmp_path: Path, victim: Path
) -> None:
    state = tmp_path / ".wmx"
    state.mkdir()
    (state / ".admin-token.tmp").symlink_to(victim)  # the old code's fixed temporary name
    write_token(state / "admin-token", "syt_token")
    assert victim.read_text() == SECRET
    assert (state / "admin-token").read_text() == "syt_token\n"
    assert stat.S_IMODE((state / "admin-token").stat().st_mode) == 0o600


def test_the_admin_token_refuses_a_link_at_its_name(tmp_path: Path, victim: Path) -> None:
    (tmp_path / "admin-token").symlink_to(victim)
    with pytest.raises(InputError, match="admin-token: a symbolic link"):
        write_token(tmp_path / "admin-token", "syt_token")
    assert victim.read_text() == SECRET


def test_a_state_record_goes_through_no_link(tmp_path: Path, victim: Path) -> None:
    (tmp_path / "last.json").symlink_to(victim)
    with pytest.raises(InputError, match=r"last.json: a symbolic link; wmx keeps a file"):
        write_state(tmp_path / "last.json", "{}\n")
    assert victim.read_text() == SECRET
    write_state(tmp_path / "fresh.json", "{}\n", 0o600)
    assert stat.S_IMODE((tmp_path / "fresh.json").stat().st_mode) == 0o600


# --- guards: the site's own files, refused already ----------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["secrets.yml", "wmx.yaml", "inventory.yml"])
def test_init_refuses_a_fifo_where_a_site_file_goes(tmp_path: Path, name: str) -> None:
    root = tmp_path / "site"
    root.mkdir()
    os.mkfifo(root / name)
    result = runner.invoke(app, ["init", str(root), "--defaults", "--server-name", "x.test"])
    one_line_refusal(result, f"already holds a site ({name})")
    assert sorted(p.name for p in root.iterdir()) == [name]


@pytest.mark.timeout(30)
def test_config_set_refuses_a_site_file_linked_to_a_fifo(tmp_path: Path) -> None:
    root = init_site(tmp_path / "site")
    os.mkfifo(tmp_path / "fifo")
    (root / "wmx.yaml").unlink()
    (root / "wmx.yaml").symlink_to(tmp_path / "fifo")
    result = runner.invoke(app, ["--site", str(root), "config", "set", "synapse.log_level", "INFO"])
    one_line_refusal(result, "wmx.yaml: is a FIFO, not a regular file")
    assert (root / "wmx.yaml").is_symlink()
