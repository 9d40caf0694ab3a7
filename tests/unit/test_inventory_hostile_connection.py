"""Connection variables of a hostile inventory (wmx.site.ssh_options): none that names a
program of the deploying machine, none that turns host key checking off.

Ansible's ssh runs `ansible_sftp_executable` or `ansible_scp_executable` on the operator's
machine for every file it copies, as it runs `ansible_ssh_executable` for every task; only
the last was refused. `ansible_host_key_checking: false` has Ansible put
`-o StrictHostKeyChecking=no` before the site's own ssh arguments, where ssh takes the
first value of an option: a site's `StrictHostKeyChecking=yes` beside `HostKeyAlias` then
did nothing, and ssh planted the host's key under any name in a known-hosts file of this
machine. The site's variables of Ansible's connections are now held to the ssh
connection's that wmx knows, kept equal to the installed plugin's by the tests below.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.one_host_inventory import load_with, write_inventory
from tests.unit.test_inventory_hostile_hosts import refused
from wmx.errors import InputError
from wmx.site.inventory import load_topology
from wmx.site.ssh_options import (
    CONNECTION_PREFIXES,
    REFUSED_VARIABLES,
    SSH_VARIABLES,
    connection_problem,
    unchecked_here,
)

_SPEC = importlib.util.find_spec("ansible")
assert _SPEC is not None and _SPEC.origin is not None
ANSIBLE = Path(_SPEC.origin).parent
VAULT = """!vault |
        $ANSIBLE_VAULT;1.1;AES256
        61626364656667686970717273747576777879306162636465666768697071727374757677787930
"""


def _plugin_vars(kind: str) -> dict[str, dict[str, list[str]]]:
    """plugin → option → the variables that set it, from the installed ansible-core's
    documentation of its `kind` plugins (connection, become)."""
    found: dict[str, dict[str, list[str]]] = {}
    for file in sorted((ANSIBLE / "plugins" / kind).glob("[a-z]*.py")):
        text = file.read_text(encoding="utf-8")
        doc = re.search(r"DOCUMENTATION\s*=\s*r?(\"\"\"|''')(.*?)\1", text, re.S)
        options = (yaml.safe_load(doc.group(2)) or {}).get("options") or {} if doc else {}
        found[file.stem] = {
            option: [v["name"] for v in spec.get("vars") or []] for option, spec in options.items()
        }
    return found


def _refused(tmp_path: Path, key: str, value: str, *says: str) -> str:
    path = write_inventory(tmp_path, f"      {key}: {value}\n")
    return refused(path, f"5: hs1.{key}: ", *says)


# --- programs of this machine -----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("ansible_sftp_executable", "program run as sftp on this machine"),
        ("ansible_scp_executable", "program run as scp on this machine"),
        ("ansible_paramiko_proxy_command", "command run on this machine"),
        ("ansible_winrm_kinit_cmd", "program run as kinit on this machine"),
    ],
)
def test_a_program_of_this_machine_is_refused(tmp_path: Path, key: str, says: str) -> None:
    message = _refused(tmp_path, key, "/tmp/evil.sh", says)
    assert "evil" not in message


@pytest.mark.parametrize("where", ["host_vars/hs1.yml", "group_vars/homeserver.yml"])
def test_sftp_in_a_variables_file_is_refused_naming_that_file(tmp_path: Path, where: str) -> None:
    path = write_inventory(tmp_path)
    (tmp_path / where).parent.mkdir()
    (tmp_path / where).write_text("memo: plain\nansible_sftp_executable: /tmp/evil.sh\n")
    with pytest.raises(InputError) as refused:
        load_topology(path)
    assert str(refused.value).startswith(f"{tmp_path / where}:2: hs1.ansible_sftp_executable: ")


def test_every_variable_of_the_ssh_connection_is_allowed_or_refused_by_name() -> None:
    """A variable a new ansible-core gives its ssh connection fails this until it is
    looked at: let in (SSH_VARIABLES) or refused (REFUSED_VARIABLES)."""
    names = {v for names in _plugin_vars("connection")["ssh"].values() for v in names}
    names -= {"inventory_hostname"}
    names = {n for n in names if not n.startswith("delegated_vars")}
    ssh_refused = {k for k in REFUSED_VARIABLES if k in names}
    assert names == SSH_VARIABLES | ssh_refused
    assert not SSH_VARIABLES & REFUSED_VARIABLES.keys()


def test_the_ssh_options_that_name_a_program_or_place_here_are_refused() -> None:
    options = _plugin_vars("connection")["ssh"]
    local = [o for o in options if o.endswith(("_executable", "_provider")) or "control_path" in o]
    assert len(local) == 6, local
    for option in local:
        for name in options[option]:
            assert connection_problem(name, "/tmp/x") is not None, name


def test_no_other_connections_variable_gets_through() -> None:
    """paramiko, WinRM, PSRP and local: wmx reaches hosts over ssh only, so none of their
    own variables is let in (a password is refused in plain text, by its own rule)."""
    ssh = {v for names in _plugin_vars("connection")["ssh"].values() for v in names}
    for plugin, options in _plugin_vars("connection").items():
        for name in {v for names in options.values() for v in names} - ssh:
            if name in ("inventory_hostname", "ansible_port", "ansible_user", "ansible_host"):
                continue
            assert name.startswith(CONNECTION_PREFIXES), (plugin, name)
            assert connection_problem(name, "x") is not None, (plugin, name)


def test_an_unknown_connection_variable_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, "ansible_paramiko_look_for_keys", "yes", "not a variable of Ansible's ssh")
    _refused(tmp_path, "ansible_ssh_askpass_program", "/tmp/x", "not a variable")


@pytest.mark.parametrize(
    "key",
    ["ansible_sftp_executable", "ansible_paramiko_look_for_keys", "ansible_host_key_checking"],
)
def test_a_refused_name_may_not_hide_in_a_vault(tmp_path: Path, key: str) -> None:
    """A vault-encrypted value is left out of what wmx reads: for a name refused whatever
    its value, it had slipped through to Ansible, which decrypts it."""
    message = _refused(tmp_path, key, VAULT, "a vault-encrypted value (value not shown)")
    assert "ANSIBLE_VAULT" not in message


def test_a_private_key_in_plain_text_is_refused_and_not_shown(tmp_path: Path) -> None:
    for key in ("ansible_ssh_private_key", "ansible_private_key"):
        message = _refused(tmp_path, key, "KEYMATERIAL", "a private key in plain text")
        assert "KEYMATERIAL" not in message
    load_with(tmp_path, "ansible_ssh_private_key", VAULT)  # encrypted: Ansible's


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ansible_ssh_timeout", "30"),
        ("ansible_ssh_retries", "3"),
        ("ansible_ssh_pipelining", "true"),
        ("ansible_ssh_transfer_method", "piped"),
        ("ansible_sftp_batch_mode", "false"),
        ("ansible_python_interpreter", "/usr/bin/python3"),
        ("ansible_shell_executable", "/bin/bash"),  # on the host, not here
        ("ansible_host_key_checking", "true"),
        ("ansible_ssh_host_key_checking", "'yes'"),
    ],
)
def test_what_only_reaches_the_host_is_allowed(tmp_path: Path, key: str, value: str) -> None:
    load_with(tmp_path, key, value)


# --- host key checking ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ansible_host_key_checking", "ansible_ssh_host_key_checking"])
@pytest.mark.parametrize("value", ["false", "'no'", "'off'", "0", "''", "'maybe'", "2"])
def test_host_key_checking_off_is_refused(tmp_path: Path, key: str, value: str) -> None:
    _refused(tmp_path, key, value, "may not turn host key checking off", "ANSIBLE_HOST_KEY")


def test_the_probes_planted_key_is_refused(tmp_path: Path) -> None:
    extra = (
        "      ansible_host_key_checking: false\n"
        "      ansible_ssh_common_args: '-o StrictHostKeyChecking=yes -o "
        "UserKnownHostsFile=/etc/ssh/ssh_known_hosts -o HostKeyAlias=github.com'\n"
    )
    with pytest.raises(InputError, match="host key checking off"):
        load_topology(write_inventory(tmp_path, extra))


KNOWN_HOSTS = (
    "ansible_ssh_common_args",
    "'-o StrictHostKeyChecking=yes -o UserKnownHostsFile=~/.ssh/known_hosts "
    "-o HostKeyAlias=github.com'",
)


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"ANSIBLE_HOST_KEY_CHECKING": "False"}, "ANSIBLE_HOST_KEY_CHECKING"),
        ({"ANSIBLE_SSH_HOST_KEY_CHECKING": "no"}, "ANSIBLE_SSH_HOST_KEY_CHECKING"),
        (
            {"ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_SSH_HOST_KEY_CHECKING": "0"},
            "ANSIBLE_SSH_HOST_KEY_CHECKING",
        ),
        ({"ANSIBLE_SSH_ARGS": "-o StrictHostKeyChecking=accept-new"}, "ANSIBLE_SSH_ARGS"),
        (
            {"ANSIBLE_SSH_ARGS": "-o 'StrictHostKeyChecking no' -o StrictHostKeyChecking=yes"},
            "ARGS",
        ),
    ],
)
def test_known_hosts_options_are_refused_where_the_operator_checks_no_host_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], says: str
) -> None:
    """With checking off in the operator's environment (a throwaway lab's way), Ansible's
    `-o StrictHostKeyChecking=no` (or the environment's own ssh arguments) comes first,
    and the site's `=yes` after it does nothing: its HostKeyAlias would plant a key."""
    for name in ("ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_HOST_KEY_CHECKING", "ANSIBLE_SSH_ARGS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    _refused(tmp_path, *KNOWN_HOSTS, "HostKeyAlias", says, "in your environment")
    load_with(tmp_path, "ansible_ssh_common_args", "'-o IdentitiesOnly=yes'")


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"ANSIBLE_HOST_KEY_CHECKING": "True"},
        {"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_SSH_HOST_KEY_CHECKING": "yes"},
        {"ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o StrictHostKeyChecking=yes"},
    ],
)
def test_checking_host_keys_in_the_environment_keeps_known_hosts_options(
    environ: dict[str, Any],
) -> None:
    assert unchecked_here(environ) is None


def test_a_change_of_what_is_refused_is_a_new_read_of_the_inventory() -> None:
    """A cached read holds no vault-encrypted value: one whose name a newer
    ssh_options refuses would pass from a cache made before, were its code not part of
    the cache's key (wmx.site.inventory_cache)."""
    from wmx.site import inventory_cache, ssh_options

    assert Path(ssh_options.__file__) in inventory_cache._CODE
