"""Connection variables of an inventory that would run a program, load a library or open
a file or socket on the deploying machine are refused at load (wmx.site.ssh_options):
Ansible's ssh and wmx's own put them on ssh's command line there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.one_host_inventory import load_with as _load
from wmx.errors import InputError


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("ansible_ssh_common_args", "'-o ProxyCommand=\"touch /tmp/x\"'", "ProxyCommand"),
        ("ansible_ssh_common_args", "-oProxyCommand=nc", "ProxyCommand"),
        ("ansible_ssh_common_args", "'-o \"proxycommand nc %h %p\"'", "proxycommand"),
        ("ansible_ssh_extra_args", "'-o PermitLocalCommand=yes -o LocalCommand=id'", "Permit"),
        ("ansible_ssh_extra_args", "-oKnownHostsCommand=/bin/id", "KnownHostsCommand"),
        ("ansible_ssh_common_args", "-oPKCS11Provider=/tmp/evil.so", "PKCS11Provider"),
        ("ansible_ssh_common_args", "-oSecurityKeyProvider=/tmp/e.so", "SecurityKeyProvider"),
        ("ansible_ssh_common_args", "-oControlPath=/tmp/other", "ControlPath"),
        ("ansible_ssh_common_args", "-oForwardAgent=yes", "ForwardAgent"),
        ("ansible_ssh_common_args", "'-F /tmp/config'", "-F"),
        ("ansible_ssh_common_args", "'-E /tmp/log'", "-E"),
        ("ansible_ssh_common_args", "-A", "-A"),
        ("ansible_ssh_common_args", "'-L 8008:127.0.0.1:8008'", "-L"),
        ("ansible_ssh_common_args", "-oHostname=evil.example", "Hostname"),
        ("ansible_ssh_args", "-oProxyCommand=nc", "ProxyCommand"),
        ("ansible_scp_extra_args", "-oProxyCommand=nc", "ProxyCommand"),
        ("ansible_sftp_extra_args", "-oProxyCommand=nc", "ProxyCommand"),
        ("ansible_ssh_common_args", '"\'-o ProxyJump=x"', "cannot be split"),
        ("ansible_ssh_executable", "/tmp/evil", "program run as ssh"),
        ("ansible_control_path_dir", "/tmp", "directory on this machine"),
        ("ansible_connection", "local", "over ssh only"),
        ("ansible_become_password", "touch /tmp/x", "wmx secrets sudo-password"),
        ("ansible_password", "touch /tmp/x", "value not shown"),
        ("ansible_ssh_pass", "touch /tmp/x", "value not shown"),
        ("ansible_connection", "paramiko", "over ssh only"),
    ],
)
def test_a_site_cannot_make_ssh_run_anything_here(
    tmp_path: Path, key: str, value: str, says: str
) -> None:
    with pytest.raises(InputError) as refused:
        _load(tmp_path, key, value)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'inventory.yml'}:5: hs1.{key}: "), message
    assert says in message and "\n" not in message
    assert "touch /tmp/x" not in message  # the rest of the value is not echoed


@pytest.mark.parametrize(
    ("key", "value"),
    [
        # The lab's own (wmx.ops.lab_glue), a bastion, keys, algorithms, flags.
        (
            "ansible_ssh_common_args",
            "'-o UserKnownHostsFile=/x/known_hosts -o StrictHostKeyChecking=yes "
            "-o IdentitiesOnly=yes'",
        ),
        ("ansible_ssh_common_args", "'-J admin@bastion.example.org:2222 -i /keys/id -4 -C'"),
        ("ansible_ssh_common_args", "'-o \"ProxyJump bastion\" -oServerAliveInterval=30'"),
        ("ansible_ssh_extra_args", "-oKexAlgorithms=sntrup761x25519-sha512@openssh.com"),
        ("ansible_connection", "ssh"),
    ],
)
def test_what_reaches_the_host_is_allowed(tmp_path: Path, key: str, value: str) -> None:
    _load(tmp_path, key, value)
