"""Issue 10: a wrong or hostile site through the real CLI, as a careless operator types it.

Every input error ends the same way: exit code 2, one line on stderr naming the file
(and line and key where there is one), no traceback, and nothing written: build/ is not
created, wmx.yaml, inventory.yml and secrets.yml stay byte for byte as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app

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


def _write_new(name: str, text: str) -> Callable[[Path], None]:
    def write(site: Path) -> None:
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)

    return write


def _remove(name: str) -> Callable[[Path], None]:
    return lambda site: (site / name).unlink()


def _write(name: str, text: str) -> Callable[[Path], None]:
    def write(site: Path) -> None:
        (site / name).write_text(text)

    return write


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
    Case("config-missing", _remove("wmx.yaml"), ("diff",), ("no wmx.yaml here", "so no site")),
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
    # What Ansible's YAML plugin would skip with a warning (and go on without it).
    Case(
        "inventory-group-not-a-mapping",
        _edit(
            "inventory.yml",
            "    monitoring:\n      hosts:\n        matrix:\n",
            "    monitoring: x\n",
        ),
        ("render",),
        ("inventory.yml:", "all.children.monitoring", "a group is a mapping"),
    ),
    Case(
        "inventory-unknown-group-key",
        _edit("inventory.yml", "    proxy:\n      hosts:", "    proxy:\n      host:"),
        ("render",),
        ("inventory.yml:", "all.children.proxy.host", "unknown key"),
    ),
    Case(
        "inventory-hosts-a-list",
        _edit(
            "inventory.yml",
            "    proxy:\n      hosts:\n        matrix:\n",
            "    proxy:\n      hosts: [matrix]\n",
        ),
        ("render",),
        ("inventory.yml:", "all.children.proxy.hosts", "must be a mapping"),
    ),
    Case(
        "inventory-host-vars-a-list",
        _edit(
            "inventory.yml",
            "    matrix:\n      ansible_host:",
            "    matrix: [1]\n    x:\n      ansible_host:",
        ),
        ("render",),
        ("inventory.yml:", "all.hosts.matrix", "a host's variables are a mapping"),
    ),
    Case(
        "inventory-group-name-ansible-refuses",
        _edit("inventory.yml", "    proxy:\n", "    web-proxy:\n"),
        ("render",),
        ("inventory.yml:", "all.children.web-proxy", "not a group name"),
    ),
    # group_vars/ and host_vars/ beside the inventory: Ansible reads them for every host.
    Case(
        "group-vars-a-list",
        _write_new("group_vars/all.yml", "- a\n"),
        ("render",),
        ("group_vars/all.yml:1", "mapping"),
    ),
    Case(
        "host-vars-broken-yaml",
        _write_new("host_vars/matrix/main.yml", "a: 1\nb: [\n"),
        ("render",),
        ("host_vars/matrix/main.yml:", "broken YAML"),
    ),
    Case(
        "group-vars-template-as-name",
        _write_new("group_vars/all.yaml", "{{ 7*7 }}: x\n"),
        ("render",),
        ("group_vars/all.yaml:1", "variable's name"),
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
        _edit("secrets.yml", "secrets_version: 3", "secrets_version: 99"),
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
    return str(lines[0])


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
