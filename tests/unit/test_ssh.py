"""How wmx reaches hosts (wmx.ssh): the inventory read through ansible-core, the ssh argv
built from what Ansible resolved, sudo for a non-root user with become."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from wmx.errors import InputError
from wmx.site.inventory import inventory_document, load_topology
from wmx.site.topology import HostView
from wmx.site.yamlfile import dump_document
from wmx.ssh import BecomeError, connection

INVENTORY = """\
all:
  vars:
    ansible_user: deploy
    ansible_become: true
  hosts:
    hs1:
      ansible_host: 10.0.0.5
      memory_mb: 4096
    web[01:02]:
      memo: "a plain value, kept as written"
  children:
    database: {hosts: {hs1: }}
    homeserver: {hosts: {hs1: }}
    proxy: {hosts: {web01: }}
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY)
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "homeserver.yml").write_text(
        "ansible_port: 2222\nansible_ssh_common_args: -o ProxyJump=bastion -o 'ConnectTimeout 9'\n"
    )
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "web01.yml").write_text(
        "ansible_user: root\nansible_host: web01.example.org\ninternal_address: 10.0.0.6\n"
    )
    return path


def test_inventory_is_read_as_ansible_reads_it(inventory: Path) -> None:
    topology = load_topology(inventory)
    assert [h.name for h in topology.hosts] == ["hs1", "web01", "web02"]  # a host range
    hs1 = topology.the("homeserver")
    assert (hs1.address, hs1.memory_mb, hs1.groups) == (
        "10.0.0.5",
        4096,
        ("database", "homeserver"),
    )
    assert hs1.vars["ansible_port"] == 2222  # group_vars/
    web01 = topology.the("proxy")
    assert web01.address == "web01.example.org"  # SSH; hs1 reaches it at 10.0.0.6
    assert web01.internal_address == "10.0.0.6"
    assert web01.vars["memo"] == "a plain value, kept as written"
    assert web01.vars["ansible_user"] == "root"  # host_vars/ over all.vars
    assert topology.hosts[2].groups == ()  # ungrouped
    assert "inventory_hostname" not in hs1.vars and "groups" not in hs1.vars
    # Plain Python values, not Ansible's tagged ones: a drill writes them into YAML.
    assert {type(v) for h in topology.hosts for v in (h.name, *h.groups, *h.vars)} == {str}
    assert type(hs1.vars["ansible_port"]) is int and type(hs1.vars["ansible_user"]) is str
    yaml_text = dump_document(inventory_document({h.name: h.vars for h in topology.hosts}, {}))
    assert "hs1:" in yaml_text and "ansible_port: 2222" in yaml_text


def test_ssh_argv_is_built_from_ansibles_variables(inventory: Path) -> None:
    hs1 = load_topology(inventory).the("homeserver")
    argv = connection(hs1).ssh_argv()
    assert argv == [
        "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", "2222",
        "-o", "ProxyJump=bastion", "-o", "ConnectTimeout 9", "deploy@10.0.0.5",
    ]  # fmt: skip


def test_a_non_root_user_with_become_runs_root_commands_through_sudo(inventory: Path) -> None:
    topology = load_topology(inventory)
    hs1, web01 = topology.the("homeserver"), topology.the("proxy")
    argv = connection(hs1).command(["journalctl", "--unit", "matrix synapse"])
    assert argv[-2] == "--"
    assert shlex.split(argv[-1]) == [
        "sudo", "-n", "-u", "root", "--", "journalctl", "--unit", "matrix synapse",
    ]  # fmt: skip
    assert shlex.split(connection(hs1).command(["id"], as_root=False)[-1]) == ["id"]
    # Logged in as root already: no sudo.
    assert shlex.split(connection(web01).command(["id"])[-1]) == ["id"]


def test_no_password_ever_reaches_a_command_line() -> None:
    host = HostView(
        "hs1", "10.0.0.5", ("homeserver",),
        vars={"ansible_user": "deploy", "ansible_become": "yes",
              "ansible_become_password": "hunter2-secret"},
    )  # fmt: skip
    argv = connection(host).command(["wmx-backup", "list"])
    assert "hunter2-secret" not in " ".join(argv)
    assert "-n" in shlex.split(argv[-1])


def test_other_ways_of_becoming_root_are_refused_clearly() -> None:
    host = HostView(
        "hs1", "10.0.0.5", ("homeserver",),
        vars={"ansible_user": "deploy", "ansible_become": True, "ansible_become_method": "su"},
    )  # fmt: skip
    with pytest.raises(BecomeError, match="hs1: ansible_become_method 'su'"):
        connection(host).command(["id"])


def test_older_variable_names_and_extra_args_count() -> None:
    host = HostView(
        "db1", "db1", ("database",),
        vars={"ansible_ssh_host": "192.0.2.7", "ansible_ssh_port": "2200",
              "ansible_ssh_user": "ops", "ansible_private_key_file": "/k",
              "ansible_ssh_extra_args": "-o Compression=yes"},
    )  # fmt: skip
    assert connection(host).ssh_argv("-N")[5:] == [
        "-N", "-p", "2200", "-i", "/k", "-o", "Compression=yes", "ops@192.0.2.7",
    ]  # fmt: skip


def test_a_broken_inventory_is_one_line_with_its_file(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text("all:\n  hosts:\n    - a\n    - b\n")
    with pytest.raises(InputError) as error:
        load_topology(path)
    assert str(error.value).startswith(f"{path}:2: all.hosts: must be a mapping")
    assert "\n" not in str(error.value)


def test_the_status_probe_and_the_backup_tool_go_through_sudo(inventory: Path) -> None:
    from wmx.backup.remote import HostTool

    hs1 = load_topology(inventory).the("homeserver")
    remote = shlex.split(HostTool(hs1).argv("list")[-1])
    assert remote == ["sudo", "-n", "-u", "root", "--", "/usr/local/sbin/wmx-backup", "list"]


def test_templates_in_what_wmx_reads_are_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "inventory.yml"
    path.write_text(
        "all:\n  hosts:\n    hs1:\n"
        f"      ansible_host: \"{{{{ lookup('pipe', 'touch {marker}') }}}}\"\n"
    )
    with pytest.raises(InputError, match=r"hs1\.ansible_host: a template .* write the value"):
        load_topology(path)
    assert not marker.exists()


def test_vault_encrypted_values_are_left_out(tmp_path: Path) -> None:
    from ansible.parsing.vault import VaultLib, VaultSecret

    secret = VaultLib([("default", VaultSecret(b"pw"))]).encrypt("hunter2").decode()
    block = "".join(f"        {line}\n" for line in secret.splitlines())
    path = tmp_path / "inventory.yml"
    path.write_text(
        "all:\n  hosts:\n    hs1:\n      ansible_user: deploy\n"
        f"      ansible_become_password: !vault |\n{block}"
        "  children:\n    database: {hosts: {hs1: }}\n    homeserver: {hosts: {hs1: }}\n"
        "    proxy: {hosts: {hs1: }}\n"
    )
    hs1 = load_topology(path).the("homeserver")
    assert hs1.vars["ansible_user"] == "deploy"
    assert "ansible_become_password" not in hs1.vars
