"""Issue 10: a wrong or hostile site through the real CLI, as a careless operator types it.

Every input error ends the same way: exit code 2, one line on stderr naming the file
(and line and key where there is one), no traceback, and nothing written: build/ is not
created, wmx.yaml, inventory.yml and secrets.yml stay byte for byte as they were.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.errors import InputError
from wmx.render.build_tree import _confined
from wmx.site import secrets as site_secrets
from wmx.site.config_edit import parse_value
from wmx.site.yamlfile import dump_document, round_trip_yaml

runner = CliRunner()
SITE_FILES = ("wmx.yaml", "inventory.yml", "secrets.yml")


def _edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(site: Path) -> None:
        path = site / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, 1))

    return edit


def _append_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    def edit(site: Path) -> None:
        with (site / name).open("ab") as handle:
            handle.write(data)

    return edit


def _replace_with_dir(name: str) -> Callable[[Path], None]:
    def edit(site: Path) -> None:
        (site / name).unlink()
        (site / name).mkdir()

    return edit


def _remove(name: str) -> Callable[[Path], None]:
    return lambda site: (site / name).unlink()


def _write(name: str, text: str) -> Callable[[Path], None]:
    return lambda site: (site / name).write_text(text)


def _chmod(name: str, mode: int) -> Callable[[Path], None]:
    return lambda site: (site / name).chmod(mode)


def _secret_line(name: str, new_line: str) -> Callable[[Path], None]:
    def edit(site: Path) -> None:
        path = site / "secrets.yml"
        lines = path.read_text().splitlines(keepends=True)
        kept = [ln for ln in lines if not ln.startswith(f"{name}:")]
        assert len(kept) == len(lines) - 1
        path.write_text("".join(kept) + new_line)

    return edit


def _deployed_as(name: str) -> Callable[[Path], None]:
    def edit(site: Path) -> None:
        (site / ".wmx" / "deployed").mkdir(parents=True)
        (site / ".wmx" / "deployed" / "site.json").write_text(json.dumps({"server_name": name}))

    return edit


def _renamed_after_deploy(site: Path) -> None:
    _deployed_as("example.test")(site)
    _edit("wmx.yaml", "server_name: example.test", "server_name: other.test")(site)


@dataclass(frozen=True)
class Case:
    id: str
    edit: Callable[[Path], None]
    args: tuple[str, ...]
    says: tuple[str, ...]  # every one of these is in the error line


CASES = [
    # wmx.yaml that is not a YAML text file
    Case(
        "config-not-utf8",
        _append_bytes("wmx.yaml", b"\nx: \xff\n"),
        ("render",),
        ("wmx.yaml:", "not UTF-8"),
    ),
    Case(
        "config-nul-byte",
        _append_bytes("wmx.yaml", b"\nx: a\x00b\n"),
        ("config", "validate"),
        ("wmx.yaml:", "NUL byte"),
    ),
    Case(
        "config-control-char",
        _append_bytes("wmx.yaml", b"\nx: a\x1bb\n"),
        ("render",),
        ("wmx.yaml:", "broken YAML"),
    ),
    Case(
        "config-is-directory",
        _replace_with_dir("wmx.yaml"),
        ("render",),
        ("wmx.yaml", "is a directory"),
    ),
    Case("config-missing", _remove("wmx.yaml"), ("diff",), ("wmx.yaml", "not found")),
    Case(
        "config-broken-yaml",
        _write("wmx.yaml", "server_name: [\n"),
        ("render",),
        ("wmx.yaml:", "broken YAML"),
    ),
    Case(
        "config-duplicate-key",
        _append_bytes("wmx.yaml", b"\nserver_name: x.org\n"),
        ("render",),
        ("wmx.yaml:", "broken YAML"),
    ),
    Case(
        "config-not-a-mapping",
        _write("wmx.yaml", "- server_name\n"),
        ("render",),
        ("wmx.yaml:1", "mapping"),
    ),
    # inventory.yml: host names become paths, addresses land in firewalls and configs
    Case("inventory-missing", _remove("inventory.yml"), ("render",), ("inventory.yml", "missing")),
    Case(
        "inventory-not-utf8",
        _append_bytes("inventory.yml", b"\n# \xfe\n"),
        ("render",),
        ("inventory.yml:", "not UTF-8"),
    ),
    Case(
        "host-dotdot",
        _edit("inventory.yml", "\n    matrix:\n", "\n    ../x:\n"),
        ("render",),
        ("inventory.yml:", "'../x'", "not a host name"),
    ),
    Case(
        "host-absolute",
        _edit("inventory.yml", "\n    matrix:\n", '\n    "/tmp/x":\n'),
        ("render",),
        ("inventory.yml:", "'/tmp/x'", "not a host name"),
    ),
    Case(
        "host-leading-dash",
        _edit("inventory.yml", "\n    matrix:\n", "\n    -x:\n"),
        ("render",),
        ("inventory.yml:", "not a host name"),
    ),
    Case(
        "ansible-host-injection",
        _edit(
            "inventory.yml",
            "ansible_host: 203.0.113.10",
            'ansible_host: "10.0.0.12 tcp dport 22 drop ;"',
        ),
        ("render",),
        ("inventory.yml:", "ansible_host", "not an address"),
    ),
    Case(
        "memory-mb-beyond-postgresql",
        _edit("inventory.yml", "memory_mb: 2048", "memory_mb: 99999999999"),
        ("render",),
        ("inventory.yml", "memory_mb", "4194304"),
    ),
    Case(
        "memory-mb-boolean",
        _edit("inventory.yml", "memory_mb: 2048", "memory_mb: true"),
        ("render",),
        ("inventory.yml", "memory_mb"),
    ),
    # secrets.yml
    Case("secrets-missing", _remove("secrets.yml"), ("render",), ("secrets.yml", "missing")),
    Case(
        "secrets-world-readable",
        _chmod("secrets.yml", 0o644),
        ("render",),
        ("secrets.yml", "chmod 600"),
    ),
    Case(
        "secrets-group-readable",
        _chmod("secrets.yml", 0o640),
        ("diff",),
        ("secrets.yml", "chmod 600"),
    ),
    Case(
        "secrets-not-a-mapping",
        _write("secrets.yml", "- a\n"),
        ("render",),
        ("secrets.yml", "mapping"),
    ),
    Case(
        "secrets-broken-yaml",
        _write("secrets.yml", "form_secret: [hunter2-secret\n"),
        ("render",),
        ("secrets.yml", "broken YAML"),
    ),
    Case("secrets-is-directory", _replace_with_dir("secrets.yml"), ("render",), ("secrets.yml",)),
    Case(
        "secret-deleted",
        _secret_line("backup_passphrase", ""),
        ("render",),
        ("secrets.yml", "backup_passphrase is missing", "wmx secrets rotate backup_passphrase"),
    ),
    Case(
        "secret-empty",
        _secret_line("macaroon_secret_key", "macaroon_secret_key: ''\n"),
        ("render",),
        ("secrets.yml", "macaroon_secret_key is empty", "restore"),
    ),
    Case(
        "secret-null",
        _secret_line("form_secret", "form_secret:\n"),
        ("render",),
        ("secrets.yml", "form_secret is empty"),
    ),
    Case(
        "secret-not-text",
        _secret_line("form_secret", "form_secret: 12345\n"),
        ("render",),
        ("secrets.yml", "form_secret"),
    ),
    Case(
        "secret-misspelt",
        _secret_line("form_secret", "form_secrte: abcdefghijklmnopqrstuvwxyz\n"),
        ("render",),
        ("secrets.yml", "'form_secrte'", "did you mean 'form_secret'"),
    ),
    Case(
        "secrets-from-newer-wmx",
        _edit("secrets.yml", "secrets_version: 1", "secrets_version: 99"),
        ("render",),
        ("secrets.yml", "newer wmx"),
    ),
    # the server name is fixed by the first deploy
    Case(
        "server-name-changed-render",
        _renamed_after_deploy,
        ("render",),
        ("wmx.yaml:", "server_name", "cannot change after the first deploy"),
    ),
    Case(
        "server-name-changed-diff",
        _renamed_after_deploy,
        ("diff",),
        ("wmx.yaml:", "server_name", "'example.test'"),
    ),
    Case(
        "server-name-changed-validate",
        _renamed_after_deploy,
        ("config", "validate"),
        ("wmx.yaml:", "server_name"),
    ),
    # config set
    Case(
        "set-unreadable-value",
        lambda s: None,
        ("config", "set", "synapse.log_level", "{"),
        ("synapse.log_level", "'{'", "YAML"),
    ),
    Case(
        "set-two-lines",
        lambda s: None,
        ("config", "set", "synapse.log_level", "INFO\nx: 1"),
        ("synapse.log_level", "one line"),
    ),
    Case(
        "set-server-name-after-deploy",
        _deployed_as("example.test"),
        ("config", "set", "server_name", "other.test"),
        ("server_name", "cannot change after the first deploy"),
    ),
    Case(
        "set-hash-kept-whole",
        lambda s: None,
        ("config", "set", "acme.email", "ops@example.test #x"),
        ("acme.email", "ops@example.test #x"),
    ),
    # secrets rotate
    Case(
        "rotate-unknown",
        lambda s: None,
        ("secrets", "rotate", "form_secre", "--yes"),
        ("'form_secre'", "did you mean 'form_secret'"),
    ),
    Case(
        "rotate-supplied",
        lambda s: None,
        ("secrets", "rotate", "alert_smtp_password", "--yes"),
        ("alert_smtp_password", "wmx monitoring smtp-password"),
    ),
]


def _snapshot(site: Path) -> dict[str, bytes | None]:
    return {
        name: (site / name).read_bytes() if (site / name).is_file() else None for name in SITE_FILES
    }


def _one_error_line(result: object, says: tuple[str, ...]) -> str:
    stdout, stderr = result.stdout, result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stdout + stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (  # type: ignore[attr-defined]
        result.exception  # type: ignore[attr-defined]
    )
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for part in says:
        assert part in lines[0], (part, lines[0])
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_input_error_is_one_line_exit_2_and_writes_nothing(site_dir: Path, case: Case) -> None:
    case.edit(site_dir)
    before = _snapshot(site_dir)
    secret_values = [
        line.split(":", 1)[1].strip()
        for line in (before["secrets.yml"] or b"").decode(errors="replace").splitlines()
        if ":" in line and not line.startswith(("#", "secrets_version"))
    ]
    result = runner.invoke(app, ["--site", str(site_dir), *case.args])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    line = _one_error_line(result, case.says)
    assert not any(value and len(value) > 8 and value in line for value in secret_values)
    assert "hunter2" not in line
    assert _snapshot(site_dir) == before
    assert not (site_dir / "build").exists()


def test_init_refuses_a_file_as_target_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_bytes(b"keep me\n")
    for where in (target, target / "site"):
        result = runner.invoke(app, ["init", str(where), "--defaults", "--server-name", "x.test"])
        assert result.exit_code == 2
        _one_error_line(result, (str(where),))
    assert target.read_bytes() == b"keep me\n"


@pytest.mark.parametrize("address", ["10.0.0.12 tcp dport 22 drop ;", "a/b", "1.2.3.4\n", "-x"])
def test_init_checks_the_host_address(tmp_path: Path, address: str) -> None:
    site = tmp_path / "s"
    result = runner.invoke(
        app,
        ["init", str(site), "--defaults", "--server-name", "x.test", "--host-address", address],
    )
    assert result.exit_code == 2
    _one_error_line(result, ("--host-address",))
    assert not site.exists()


def test_init_normalises_an_ipv6_host_address(tmp_path: Path) -> None:
    site = tmp_path / "s"
    result = runner.invoke(
        app,
        [
            "init",
            str(site),
            "--defaults",
            "--server-name",
            "x.test",
            "--host-address",
            "2001:db8::1",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert runner.invoke(app, ["--site", str(site), "config", "validate"]).exit_code == 0


# --- config set: lock, atomic write, mode, symlink, exact values, comments -------------

PARALLEL_SETTINGS = {
    "synapse.max_upload_size_mb": "51",
    "synapse.presence": "false",
    "synapse.log_level": "WARNING",
    "synapse.search": "false",
    "postgresql.max_connections": "101",
    "tls.hsts_max_age": "31536000",
    "monitoring.scrape_interval": "20",
    "monitoring.retention_days": "31",
    "monitoring.group_interval": "301",
    "backup.retention.daily": "8",
    "backup.retention.weekly": "5",
    "backup.retention.monthly": "7",
}


def test_twelve_parallel_config_sets_all_survive(site_dir: Path, tmp_path: Path) -> None:
    """Twelve processes wait for one signal, then each sets another key at once: the lock
    makes every read-modify-write see the others' edits (the CLI calls set_value)."""
    go = tmp_path / "go"
    code = (
        "import sys, time, pathlib\n"
        "from wmx.site import SitePaths\n"
        "from wmx.site.config_edit import set_value\n"
        "while not pathlib.Path(sys.argv[1]).exists(): time.sleep(0.01)\n"
        "set_value(SitePaths(pathlib.Path(sys.argv[2])), sys.argv[3], sys.argv[4], "
        "deployed=False)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(go), str(site_dir), key, value],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for key, value in PARALLEL_SETTINGS.items()
    ]
    time.sleep(0.5)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    document = round_trip_yaml().load((site_dir / "wmx.yaml").read_text())
    for key, value in PARALLEL_SETTINGS.items():
        node = document
        for part in key.split("."):
            node = node[part]
        assert str(node).lower() == value.lower(), key
    assert not list(site_dir.glob(".wmx.yaml.*.tmp"))


def test_config_set_keeps_mode_and_symlink(site_dir: Path, tmp_path: Path) -> None:
    real = tmp_path / "kept" / "wmx.yaml"
    real.parent.mkdir()
    (site_dir / "wmx.yaml").rename(real)
    (site_dir / "wmx.yaml").symlink_to(real)
    real.chmod(0o640)
    result = runner.invoke(
        app, ["--site", str(site_dir), "config", "set", "synapse.max_upload_size_mb", "77"]
    )
    assert result.exit_code == 0, result.stderr
    assert (site_dir / "wmx.yaml").is_symlink()
    assert "max_upload_size_mb: 77" in real.read_text()
    assert real.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    "text",
    [
        "a@b.org #x",
        "x: y",
        "- item",
        "yes",
        "trailing ",
        "é ünïcödé",
        "a b # c",
        "https://h.example/p#frag",
        "k: v # c",
    ],
)
def test_a_value_is_stored_exactly_as_confirmed(text: str) -> None:
    """What YAML would read as text is the text typed, written so it reads back the same."""
    value = parse_value(text)
    assert value == text
    document = round_trip_yaml().load("k: old  # comment\n")
    document["k"] = value
    assert round_trip_yaml().load(dump_document(document, explicit_null=True))["k"] == text


@pytest.mark.parametrize("text", ["@x", "%x", "{{ lookup('pipe','id') }} x", "'a' b", "a\tb", "{"])
def test_a_value_yaml_cannot_read_is_refused_not_guessed(text: str) -> None:
    with pytest.raises(InputError, match="put text in quotes"):
        parse_value(text)


def test_parse_value_reads_yaml_scalars_and_quoted_text() -> None:
    assert parse_value("50") == 50
    assert parse_value("true") is True
    assert parse_value("null") is None
    assert parse_value('"50"') == "50"
    assert list(parse_value("[a, b]")) == ["a", "b"]


def test_setting_a_section_as_a_flow_map_keeps_its_comments(site_dir: Path) -> None:
    before = (site_dir / "wmx.yaml").read_text()
    result = runner.invoke(
        app,
        ["--site", str(site_dir), "config", "set", "synapse", "{log_level: ERROR, search: false}"],
    )
    assert result.exit_code == 0, result.stderr
    after = (site_dir / "wmx.yaml").read_text()
    expected = before.replace("log_level: INFO", "log_level: ERROR").replace(
        "search: true", "search: false"
    )
    assert after == expected


def test_server_name_can_be_put_back_after_a_hand_edit(site_dir: Path) -> None:
    _renamed_after_deploy(site_dir)
    result = runner.invoke(
        app, ["--site", str(site_dir), "config", "set", "server_name", "example.test"]
    )
    assert result.exit_code == 0, result.stderr
    assert runner.invoke(app, ["--site", str(site_dir), "config", "validate"]).exit_code == 0


def test_server_name_of_a_site_deployed_before_the_record(site_dir: Path) -> None:
    """Sites deployed by an earlier wmx have no site.json: the deployed homeserver.yaml
    says the name."""
    config = site_dir / ".wmx/deployed/matrix/etc/matrix-synapse/homeserver.yaml"
    config.parent.mkdir(parents=True)
    config.write_text('# comment\nserver_name: "example.test"\n')
    _edit("wmx.yaml", "server_name: example.test", "server_name: other.test")(site_dir)
    result = runner.invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 2
    _one_error_line(result, ("'example.test'", "cannot change"))


# --- secrets ---------------------------------------------------------------------------


def _secrets(site: Path) -> dict[str, object]:
    data = round_trip_yaml().load((site / "secrets.yml").read_text())
    return dict(data)


def test_rotate_says_what_breaks_asks_and_replaces_only_that_secret(site_dir: Path) -> None:
    before = _secrets(site_dir)
    declined = runner.invoke(
        app, ["--site", str(site_dir), "secrets", "rotate", "backup_passphrase"], input="n\n"
    )
    assert declined.exit_code == 1
    assert "existing borg repositories" in " ".join(declined.stdout.split())
    assert _secrets(site_dir) == before
    done = runner.invoke(
        app, ["--site", str(site_dir), "secrets", "rotate", "backup_passphrase", "--yes"]
    )
    assert done.exit_code == 0, done.stderr
    after = _secrets(site_dir)
    assert after["backup_passphrase"] != before["backup_passphrase"]
    assert {k: v for k, v in after.items() if k != "backup_passphrase"} == {
        k: v for k, v in before.items() if k != "backup_passphrase"
    }
    for value in after.values():
        assert str(value) not in done.stdout + done.stderr or len(str(value)) < 8
    assert (site_dir / "secrets.yml").stat().st_mode & 0o777 == 0o600


def test_rotate_restores_a_lost_secret(site_dir: Path) -> None:
    _secret_line("macaroon_secret_key", "")(site_dir)
    assert runner.invoke(app, ["--site", str(site_dir), "render"]).exit_code == 2
    result = runner.invoke(
        app, ["--site", str(site_dir), "secrets", "rotate", "macaroon_secret_key", "-y"]
    )
    assert result.exit_code == 0, result.stderr
    assert runner.invoke(app, ["--site", str(site_dir), "render"]).exit_code == 0


def test_only_a_secret_a_newer_wmx_introduces_is_added_and_said(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(site_secrets.INTRODUCED_IN, "turn_shared_secret", 2)
    monkeypatch.setattr(site_secrets, "SECRETS_VERSION", 2)
    _secret_line("turn_shared_secret", "")(site_dir)
    result = runner.invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 0, result.stderr
    assert "added turn_shared_secret" in result.stderr
    data = _secrets(site_dir)
    assert data["secrets_version"] == 2 and len(str(data["turn_shared_secret"])) >= 32
    assert str(data["turn_shared_secret"]) not in result.stdout + result.stderr
    # Another missing secret of the same file is still refused.
    _secret_line("form_secret", "")(site_dir)
    assert runner.invoke(app, ["--site", str(site_dir), "render"]).exit_code == 2


def test_an_empty_supplied_secret_renders_empty_never_none(site_dir: Path) -> None:
    _secret_line("alert_smtp_password", "alert_smtp_password:\n")(site_dir)
    result = runner.invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 0, result.stderr
    for path in (site_dir / "build").rglob("*"):
        if path.is_file() and "password" in path.name:
            assert path.read_text().strip() != "None", path


# --- every written path stays under build/ ---------------------------------------------


def test_build_paths_are_confined(tmp_path: Path) -> None:
    root = tmp_path / "build"
    root.mkdir()
    assert _confined(root / "matrix" / "etc" / "x", root) == root / "matrix" / "etc" / "x"
    (root / "link").symlink_to(tmp_path)
    for escape in (root / ".." / "x", root / "/tmp/x", root / "link" / "x"):
        with pytest.raises(Exception, match="outside"):
            _confined(escape, root)
    assert os.listdir(root) == ["link"]


def test_a_relay_password_with_a_control_character_is_refused_and_nothing_written(
    site_dir: Path,
) -> None:
    before = (site_dir / "secrets.yml").read_bytes()
    result = runner.invoke(
        app,
        ["--site", str(site_dir), "monitoring", "smtp-password", "--stdin"],
        input="pa\x1bss\n",
    )
    assert result.exit_code == 2
    line = _one_error_line(result, ("secrets.yml", "alert_smtp_password"))
    assert "pa\x1bss" not in line
    assert (site_dir / "secrets.yml").read_bytes() == before
    result = runner.invoke(
        app, ["--site", str(site_dir), "monitoring", "smtp-password", "--stdin"], input="s3cret\n"
    )
    assert result.exit_code == 0, result.stderr
    assert "s3cret" not in result.stdout + result.stderr


def test_deploy_refuses_a_changed_server_name_before_any_host_is_touched(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wmx.ops.deploy

    def no_playbook(*args: object, **kwargs: object) -> None:
        raise AssertionError("a playbook ran for a site whose server_name changed")

    monkeypatch.setattr(wmx.ops.deploy, "run_playbook", no_playbook)
    _renamed_after_deploy(site_dir)
    before = _snapshot(site_dir)
    for args in (["deploy"], ["deploy", "--check"]):
        result = runner.invoke(app, ["--site", str(site_dir), *args])
        assert result.exit_code == 2, (result.stdout, result.stderr)
        _one_error_line(result, ("wmx.yaml:", "server_name", "cannot change"))
    assert _snapshot(site_dir) == before
    assert not (site_dir / "build").exists()
