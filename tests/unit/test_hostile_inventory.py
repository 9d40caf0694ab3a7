"""A hostile inventory: templates Ansible would run, and names the playbooks read.

Ansible reads inventory.yml, group_vars/ and host_vars/ itself when wmx deploys, and
templates every variable it uses (connection variables such as ansible_python_interpreter
on the deploying machine; a role's variable where wmx sets none). So no inventory
variable may hold template syntax, and none may take a name of the playbooks' own.
Each case runs through the CLI: exit 2, one line naming file, line and variable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.site.inventory import PLAYBOOK_PREFIXES

from .test_hostile_files import new_site

runner = CliRunner()
ROLES = Path(__file__).parents[2] / "playbooks" / "roles"
PIPE = "{{ lookup('pipe', 'touch MARKER') }}"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return new_site(tmp_path)


def _host_var(site: Path, text: str) -> int:
    """Add `text` (lines) to host matrix's variables in inventory.yml; its first line."""
    path = site / "inventory.yml"
    old = path.read_text()
    anchor = "      memory_mb: 2048\n"
    indented = "".join(f"      {line}\n" for line in text.splitlines())
    path.write_text(old.replace(anchor, anchor + indented, 1))
    return old[: old.index(anchor)].count("\n") + 2


def _vars_file(site: Path, where: str, text: str) -> int:
    (site / where).parent.mkdir(exist_ok=True)
    (site / where).write_text("memo: plain\n" + text)
    return 2


def _refused(site: Path, *says: str) -> str:
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file() and ".wmx" not in p.parts}
    result = runner.invoke(app, ["--site", str(site), "render"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for part in says:
        assert part in lines[0], (part, lines[0])
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file() and ".wmx" not in p.parts}
    assert after == before
    assert not (site / "build").exists()
    return lines[0]


TEMPLATES = {
    "interpreter": f'ansible_python_interpreter: "{PIPE}"\n',
    "password": f'ansible_become_password: "hunter2{PIPE}"\n',
    "ssh-executable": 'ansible_ssh_executable: "{% if true %}/bin/sh{% endif %}"\n',
    "comment": 'ansible_shell_executable: "/bin/sh{# x #}"\n',
    "any-variable": f'memo: "{PIPE}"\n',
    "nested": f'memo:\n        - plain\n        - {{key: "{PIPE}"}}\n',
}


@pytest.mark.parametrize("case", list(TEMPLATES))
def test_a_template_in_an_inventory_variable_is_refused_with_its_line(
    site: Path, case: str
) -> None:
    line = _host_var(site, TEMPLATES[case])
    if case == "nested":
        line += 2
    message = _refused(site, f"{site / 'inventory.yml'}:{line}: matrix.", "template syntax")
    assert "hunter2" not in message and "lookup" not in message


@pytest.mark.parametrize(
    "where", ["group_vars/all.yml", "group_vars/proxy", "host_vars/matrix.yaml"]
)
def test_a_template_in_a_vars_file_is_refused_naming_that_file(site: Path, where: str) -> None:
    line = _vars_file(site, where, TEMPLATES["interpreter"])
    _refused(site, f"{site / where}:{line}: matrix.ansible_python_interpreter: holds template")


def test_a_template_in_all_vars_is_refused(site: Path) -> None:
    path = site / "inventory.yml"
    old = path.read_text()
    path.write_text(old.replace("all:\n", f'all:\n  vars:\n    memo: "{PIPE}"\n', 1))
    line = old[: old.index("all:\n")].count("\n") + 3
    _refused(site, f"{path}:{line}: matrix.memo: holds template syntax")


def test_a_vault_encrypted_value_is_left_to_ansible(site: Path) -> None:
    _vars_file(
        site, "group_vars/all.yml", "secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n"
    )
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    "name", ["backup_ssh_public_key", "wmx_plan", "synapse_version", "irc_bridge_x", "acme_email"]
)
def test_a_name_of_the_playbooks_is_refused_in_the_inventory(site: Path, name: str) -> None:
    line = _vars_file(site, "host_vars/matrix.yml", f'{name}: "ssh-ed25519 AAAA\\nevil"\n')
    prefix = next(p for p in PLAYBOOK_PREFIXES if name.startswith(p))
    message = _refused(
        site, f"{site / 'host_vars/matrix.yml'}:{line}: matrix.{name}: a name of wmx's playbooks"
    )
    assert f"({prefix}…)" in message and "evil" not in message


def test_every_role_is_a_reserved_prefix() -> None:
    roles = {role.name for role in ROLES.iterdir() if role.is_dir()}
    assert roles, ROLES
    assert all(f"{role}_".startswith(PLAYBOOK_PREFIXES) for role in roles)


@pytest.mark.timeout(60)
def test_a_host_range_of_a_million_hosts_is_refused_before_ansible_makes_them(
    site: Path,
) -> None:
    path = site / "inventory.yml"
    old = path.read_text()
    path.write_text(old.replace("  hosts:\n", "  hosts:\n    web[000000:999999]:\n", 1))
    line = old[: old.index("  hosts:\n")].count("\n") + 2
    _refused(site, f"{path}:{line}: all.hosts.web[000000:999999]: a host range of 1,000,000")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("public_ipv4: garbage", "matrix.public_ipv4: 'garbage' is not an IPv4 address"),
        ("public_ipv6: [2001:db8::1, 127.0.0.1]", "matrix.public_ipv6: '127.0.0.1' is not"),
        ("public_ipv4: 127.0.0.1", "matrix.public_ipv4: '127.0.0.1' is a loopback"),
    ],
)
def test_a_wrong_public_address_is_refused_with_its_line(site: Path, text: str, says: str) -> None:
    line = _host_var(site, text + "\n")
    _refused(site, f"{site / 'inventory.yml'}:{line}: {says}")


def test_a_wrong_memory_size_is_refused_with_its_line(site: Path) -> None:
    path = site / "inventory.yml"
    text = path.read_text()
    line = text[: text.index("memory_mb: 2048")].count("\n") + 1
    path.write_text(text.replace("memory_mb: 2048", "memory_mb: '2048'", 1))
    _refused(site, f"{path}:{line}: matrix.memory_mb: must be a whole number")


@pytest.mark.parametrize(
    "text",
    ["x: !!python/object/apply:os.system ['id']\n", "x: [1, !foo bar]\n"],
    ids=["python", "custom"],
)
def test_a_tag_ansible_cannot_read_is_refused_naming_the_vars_file(site: Path, text: str) -> None:
    line = _vars_file(site, "group_vars/all.yml", text)
    _refused(site, f"{site / 'group_vars/all.yml'}:{line}: the YAML tag")


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)
)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["group_vars/all.yml", "wmx.yaml", "inventory.yml"])
def test_a_billion_laughs_is_refused_before_anything_walks_it(site: Path, where: str) -> None:
    path = site / where
    if path.exists():
        path.write_text(LAUGHS + path.read_text())
    else:
        _vars_file(site, where, LAUGHS)
    _refused(site, f"{path}: more than 100,000 values once its aliases")
