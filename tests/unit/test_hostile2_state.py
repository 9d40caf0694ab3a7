"""What wmx keeps in a site for itself (.wmx/), hand-edited, corrupt or linked out.

`wmx diff` had printed any file of this machine a deploy record named (a manifest src
with `../`, a deployed file or directory linked to /etc/shadow); a state file that is a
FIFO or /dev/zero had hung render and diff; a record cut short or nested without end
was a traceback. Each is now read bounded, without waiting and without a link, and a
record that is not wmx's is one line naming it, exit 2.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.hostile2_support import deployed_site, one_line_refusal
from wmx.admin.account import read_token
from wmx.cli import app
from wmx.errors import InputError
from wmx.ops.deploy_plan import read_converged, read_installed
from wmx.ops.upgrade_record import last_record
from wmx.run.rundirs import create_run_dir
from wmx.site.state_files import confined_file, load_optional, load_record, read_state

runner = CliRunner()
PASSWD_LINE = "root:x:0:0:"


@pytest.fixture
def deployed(tmp_path: Path) -> Path:
    """A site rendered, with that render recorded as its last deploy."""
    return deployed_site(tmp_path / "site")


def _host(site: Path) -> Path:
    return next(p for p in (site / ".wmx" / "deployed").iterdir() if p.is_dir())


def _one_line(site: Path, args: list[str], *says: str) -> str:
    result = runner.invoke(app, ["--site", str(site), *args])
    assert PASSWD_LINE not in result.output
    return one_line_refusal(result, *says)


def _add_to_manifest(site: Path, src: object) -> None:
    manifest = _host(site) / ".wmx" / "manifest.json"
    entries = json.loads(manifest.read_text())
    entries.append({"component": "base", "src": src, "dest": "/x", "secret": False})
    manifest.write_text(json.dumps(entries))


@pytest.mark.parametrize("src", ["../../../../../../../../etc/passwd", "/etc/passwd", "a/../../x"])
def test_diff_never_reads_a_file_a_deploy_record_names_outside_it(deployed: Path, src: str) -> None:
    _add_to_manifest(deployed, src)
    _one_line(deployed, ["diff"], "manifest.json", "not a file under it")


def test_diff_never_follows_a_link_in_the_deployed_tree(deployed: Path) -> None:
    shown = _host(deployed) / "etc" / "matrix-synapse" / "log.yaml"  # the edit changes it
    shown.unlink()
    shown.symlink_to("/etc/passwd")
    (deployed / "wmx.yaml").write_text(
        (deployed / "wmx.yaml").read_text().replace("log_level: INFO", "log_level: DEBUG")
    )
    _one_line(deployed, ["diff"], "symbolic link")


def test_diff_never_follows_a_linked_directory_of_the_deployed_tree(deployed: Path) -> None:
    host = _host(deployed)
    shutil.rmtree(host / "etc")
    (host / "etc").symlink_to("/etc")
    (deployed / "wmx.yaml").write_text(
        (deployed / "wmx.yaml").read_text().replace("log_level: INFO", "log_level: DEBUG")
    )
    _one_line(deployed, ["diff"], "symbolic link")


def test_diff_of_deployed_role_vars_linked_out_is_refused(deployed: Path) -> None:
    role_vars = _host(deployed) / ".wmx" / "vars.json"
    role_vars.unlink()
    role_vars.symlink_to("/etc/passwd")
    _one_line(deployed, ["diff"], "vars.json", "symbolic link")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json {", "not JSON"),
        ("[1, 2", "not JSON"),
        ("5", "not a list of files"),
        ('["x"]', "not a list of files"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_a_damaged_deploy_record_is_one_line(deployed: Path, text: str, says: str) -> None:
    (_host(deployed) / ".wmx" / "manifest.json").write_text(text)
    _one_line(deployed, ["diff"], "manifest.json", says)


def test_a_deep_site_record_is_one_line(deployed: Path) -> None:
    (deployed / ".wmx" / "deployed" / "site.json").write_text("[" * 100_000 + "]" * 100_000)
    _one_line(deployed, ["render"], "site.json", "nested too deeply")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
@pytest.mark.parametrize("command", ["render", "diff"])
def test_a_site_record_that_is_no_file_is_refused_without_reading(
    deployed: Path, kind: str, command: str
) -> None:
    record = deployed / ".wmx" / "deployed" / "site.json"
    record.unlink()
    if kind == "fifo":
        os.mkfifo(record)
    else:
        record.symlink_to("/dev/zero")
    _one_line(deployed, [command], "site.json")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "deep"])
def test_an_inventory_cache_that_is_no_cache_is_ignored(deployed: Path, kind: str) -> None:
    cache = deployed / ".wmx" / "cache" / "inventory.json"
    cache.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(cache)
    elif kind == "dev-zero":
        cache.symlink_to("/dev/zero")
    else:
        cache.write_text("[" * 100_000 + "]" * 100_000)
    result = runner.invoke(app, ["--site", str(deployed), "render"])
    assert result.exit_code == 0, (result.stdout, result.stderr)


@pytest.mark.timeout(30)
def test_records_wmx_can_do_without_are_none_when_no_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    host = site / ".wmx" / "deployed" / "h1"
    (host / ".wmx").mkdir(parents=True)
    os.mkfifo(host / ".wmx" / "converged.json")
    assert read_converged(host) == {}
    assert read_installed(host) == {}
    (site / ".wmx" / "upgrades").mkdir()
    os.mkfifo(site / ".wmx" / "upgrades" / "last.json")
    assert last_record(site / ".wmx") is None
    token = site / ".wmx" / "admin-token"
    os.mkfifo(token)
    assert read_token(token) is None


@pytest.mark.parametrize("text", ["syt_abc\nInjected: 1", "two words", "", "\xe9t\xe9"])
def test_an_admin_token_that_is_no_token_is_not_sent(tmp_path: Path, text: str) -> None:
    token = tmp_path / ".wmx" / "admin-token"
    token.parent.mkdir()
    token.write_text(text, encoding="latin-1")
    assert read_token(token) is None
    token.write_text("syt_d214_abcDEF_123\n")
    assert read_token(token) == "syt_d214_abcDEF_123"


def test_read_state_refuses_links_below_its_root_and_big_files(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.json").write_text("{}")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "linked").symlink_to(tmp_path / "out")
    with pytest.raises(InputError, match="symbolic link"):
        read_state(tmp_path / "root" / "linked" / "x.json", tmp_path / "root")
    with pytest.raises(InputError, match="outside"):
        read_state(tmp_path / "out" / "x.json", tmp_path / "root")
    (tmp_path / "root" / "big").write_bytes(b"x" * 101)
    with pytest.raises(InputError, match="larger than"):
        read_state(tmp_path / "root" / "big", tmp_path / "root", limit=100)
    assert read_state(tmp_path / "root" / "none", tmp_path / "root") is None
    (tmp_path / "root" / "bad.json").write_bytes(b'{"a": "\xff"}')
    with pytest.raises(InputError, match=r"bad.json: not UTF-8; .*; it is wmx's"):
        load_record(tmp_path / "root" / "bad.json", tmp_path / "root", "it is wmx's")
    assert load_optional(tmp_path / "root" / "bad.json", tmp_path / "root") is None


@pytest.mark.parametrize("relative", ["", ".", "..", "../x", "/etc/x", "a//b", "a/./b", 5, None])
def test_confined_file_refuses_what_leaves_its_root(tmp_path: Path, relative: object) -> None:
    with pytest.raises(InputError, match="not a file under it"):
        confined_file(tmp_path, relative)


def test_runs_never_go_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir(mode=0o755)
    (tmp_path / "runs").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="runs: a symbolic link"):
        create_run_dir(tmp_path / "runs")
    assert (tmp_path / "elsewhere").stat().st_mode & 0o777 == 0o755
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize("name", ["runs", "drill", "upgrades", "deployed"])
def test_a_state_directory_linked_elsewhere_is_refused_at_load(
    deployed: Path, tmp_path: Path, name: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    state = deployed / ".wmx" / name
    if state.is_dir():
        shutil.rmtree(state)
    state.symlink_to(elsewhere)
    _one_line(deployed, ["render"], f".wmx/{name}: a symbolic link")
    assert elsewhere.stat().st_mode & 0o777 == 0o755


def test_a_linked_wmx_directory_itself_is_a_site_like_any_other(
    deployed: Path, tmp_path: Path
) -> None:
    (deployed / ".wmx").rename(tmp_path / "state")
    (deployed / ".wmx").symlink_to(tmp_path / "state")
    result = runner.invoke(app, ["--site", str(deployed), "diff"])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("record", "command", "code"),
    [
        (".wmx/cache/inventory.json", "render", 0),
        (".wmx/deployed/site.json", "render", 2),
        (".wmx/deployed/HOST/.wmx/manifest.json", "diff", 2),
        (".wmx/deployed/HOST/.wmx/vars.json", "diff", 2),
    ],
)
def test_a_state_file_that_is_a_directory(
    deployed: Path, record: str, command: str, code: int
) -> None:
    path = deployed / record.replace("HOST", _host(deployed).name)
    path.unlink(missing_ok=True)
    path.mkdir()
    result = runner.invoke(app, ["--site", str(deployed), command])
    if code == 0:
        assert result.exit_code == 0, result.stderr
    else:
        one_line_refusal(result, "a directory")
