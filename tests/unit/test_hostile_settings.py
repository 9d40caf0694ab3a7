"""Settings, inventory variables, secrets and commands added in session 3, as a careless
or hostile operator types them: the same bar as test_hostile_input.py (exit 2, one line
naming the file, key and, where there is one, line; no traceback; nothing written), and
never a template run or a path taken from the site."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.test_hostile_input import Case, _edit, _secret_line
from tests.unit.test_hostile_input import (
    test_input_error_is_one_line_exit_2_and_writes_nothing as check_case,
)
from wmx.cli import app

runner = CliRunner()


def _host_var(line: str) -> Callable[[Path], None]:
    """The inventory's host with one more variable line."""
    return _edit("inventory.yml", "memory_mb: 2048", f"memory_mb: 2048\n      {line}")


def _workers(text: str) -> Callable[[Path], None]:
    """wmx.yaml's `synapse.workers:` section replaced by `text` (its indented lines)."""
    return _edit("wmx.yaml", "  workers:\n    preset: none", f"  workers:\n    {text}")


CASES = [
    # settings added in session 3: each checked at load, never a template or a path
    Case(
        "federation-ranges-loopback",
        _edit("wmx.yaml", "federation_allow_ranges: []", "federation_allow_ranges: [127.0.0.0/8]"),
        ("render",),
        ("wmx.yaml:", "synapse.federation_allow_ranges", "loopback"),
    ),
    Case(
        "federation-ranges-everything",
        _edit("wmx.yaml", "federation_allow_ranges: []", "federation_allow_ranges: ['::/0']"),
        ("diff",),
        ("wmx.yaml:", "synapse.federation_allow_ranges", "::/0"),
    ),
    Case(
        "federation-ranges-template",
        _edit(
            "wmx.yaml",
            "federation_allow_ranges: []",
            'federation_allow_ranges: [\'{{ lookup("pipe", "id") }}\']',
        ),
        ("render",),
        ("wmx.yaml:", "synapse.federation_allow_ranges", "not an IP address"),
    ),
    Case(
        "set-federation-ranges-metadata",
        lambda s: None,
        ("config", "set", "synapse.federation_allow_ranges", "[169.254.169.254/32]"),
        ("synapse.federation_allow_ranges", "metadata"),
    ),
    Case(
        "workers-preset-unknown",
        _workers("preset: huge"),
        ("render",),
        ("wmx.yaml:", "synapse.workers.preset", "'huge'"),
    ),
    Case(
        "workers-second-media-worker",
        _workers("media: 2"),
        ("render",),
        ("wmx.yaml:", "synapse.workers.media"),
    ),
    Case(
        "workers-count-not-a-number",
        _workers("sync: '../x'"),
        ("config", "validate"),
        ("wmx.yaml:", "synapse.workers.sync"),
    ),
    Case(
        "workers-beyond-max-connections",
        _workers("preset: large"),
        ("config", "set", "postgresql.max_connections", "40"),
        ("synapse.workers", "postgresql.max_connections"),
    ),
    Case(
        "acme-staging-not-https",
        _edit("wmx.yaml", "acme:\n", "acme:\n  staging_directory: file:///etc/passwd\n"),
        ("render",),
        ("wmx.yaml:", "acme.staging_directory", "https://"),
    ),
    Case(
        "acme-staging-template",
        _edit("wmx.yaml", "acme:\n", "acme:\n  staging_directory: 'https://x.test/{{ 7*7 }}'\n"),
        ("render",),
        ("wmx.yaml:", "acme.staging_directory"),
    ),
    Case(
        "public-ipv4-is-ipv6",
        _host_var("public_ipv4: 2001:db8::1"),
        ("render",),
        ("inventory.yml", "public_ipv4", "not an IPv4 address"),
    ),
    Case(
        "public-ipv4-loopback",
        _host_var("public_ipv4: [198.51.100.7, 127.0.0.1]"),
        ("dns",),
        ("inventory.yml", "matrix.public_ipv4", "'127.0.0.1'", "loopback"),
    ),
    Case(
        "public-ipv6-template",
        _host_var("public_ipv6: '{{ x }}'"),
        ("dns",),
        ("inventory.yml", "public_ipv6", "template"),
    ),
    Case(
        "public-ipv4-mapping",
        _host_var("public_ipv4: {a: 1}"),
        ("dns",),
        ("inventory.yml", "public_ipv4"),
    ),
    # connection variables wmx's own SSH puts on ssh's command line
    Case(
        "ansible-user-as-ssh-option",
        _edit("inventory.yml", "ansible_user: root", "ansible_user: '-oProxyCommand=touch x'"),
        ("render",),
        ("inventory.yml:", "matrix.ansible_user", "not a login name"),
    ),
    Case(
        "ansible-ssh-host-as-ssh-option",
        _host_var("ansible_ssh_host: '-oProxyCommand=touch x'"),
        ("dns",),
        ("inventory.yml:", "matrix.ansible_ssh_host", "not an address"),
    ),
    Case(
        "ansible-become-user-with-shell",
        _host_var("ansible_become_user: 'root; id'"),
        ("render",),
        ("inventory.yml:", "matrix.ansible_become_user", "not a login name"),
    ),
    Case(
        "ansible-become-not-boolean",
        _host_var("ansible_become: maybe"),
        ("config", "validate"),
        ("inventory.yml:", "matrix.ansible_become", "true or false"),
    ),
    Case(
        "ansible-become-method-not-sudo",
        _host_var("ansible_become_method: su"),
        ("config", "validate"),
        ("inventory.yml:", "matrix.ansible_become_method", "'su' is not supported", "sudo only"),
    ),
    Case(
        "ansible-port-out-of-range",
        _host_var("ansible_port: 70000"),
        ("render",),
        ("inventory.yml:", "matrix.ansible_port", "port number"),
    ),
    Case(
        "sudo-password-control-character",
        _secret_line("sudo_password", 'sudo_password: "hunter2-sudo\\e[2J"\n'),
        ("render",),
        ("secrets.yml", "sudo_password", "control characters"),
    ),
    Case(
        "canary-password-empty",
        _secret_line("upgrade_canary_password", "upgrade_canary_password: ''\n"),
        ("render",),
        ("secrets.yml", "upgrade_canary_password is empty"),
    ),
    Case(
        "sudo-password-empty-stdin",
        lambda s: None,
        ("secrets", "sudo-password", "--stdin"),
        ("non-empty",),
    ),
    Case(
        "upgrade-os-unknown-host",
        lambda s: None,
        ("upgrade", "os", "../../etc"),
        ("'../../etc'", "inventory"),
    ),
    Case(
        "bench-users-out-of-range",
        lambda s: None,
        ("bench", "--users", "0"),
        ("--users",),
    ),
    Case(
        "bench-ca-file-not-pem",
        lambda s: None,
        ("bench", "--ca-file", __file__, "--url", "http://127.0.0.1:9"),  # text, not PEM
        ("--ca-file", "not a PEM CA bundle"),
    ),
    Case(
        "bench-client-url-port-out-of-range",
        lambda s: None,
        ("bench", "--client-url", "https://[::1]:99999", "--url", "http://127.0.0.1:9"),
        ("--client-url", "base URL"),
    ),
    Case(
        "bench-rate-not-finite",
        lambda s: None,
        ("bench", "--rate", "nan"),
        ("--rate",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_new_input_is_checked_at_load(site_dir: Path, case: Case) -> None:
    check_case(site_dir, case)


@pytest.mark.parametrize(
    "line",
    [
        "ansible_become_user: root\n      ansible_become: true",
        "ansible_become_user: postgres\n      ansible_become: 'yes'\n      ansible_port: '2222'",
        "ansible_ssh_user: ops.team\n      ansible_become: 0\n      ansible_ssh_host: 2001:db8::1",
    ],
)
def test_connection_variables_as_operators_write_them_load(site_dir: Path, line: str) -> None:
    _host_var(line)(site_dir)
    result = runner.invoke(app, ["--site", str(site_dir), "config", "validate"])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("user", ["root", "-oProxyCommand=x", "a;b", "Admin"])
def test_lab_up_refuses_a_bad_sudo_user_before_any_host_starts(
    monkeypatch: pytest.MonkeyPatch, user: str
) -> None:
    from wmx.lab import Lab

    def no_lab() -> None:
        raise AssertionError("the lab was reached before --sudo-user was checked")

    monkeypatch.setattr(Lab, "require_root", staticmethod(no_lab))
    result = runner.invoke(app, ["lab", "up", "--sudo-user", user])
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--sudo-user" in lines[0] and "root" in lines[0]
