"""ssh options a site may set, yet whose values would have ssh write, read or run
something of the deploying machine (wmx.site.ssh_options), and the passwords and
passphrases of every connection plugin: refused at load with one line.

StrictHostKeyChecking=accept-new with UserKnownHostsFile=~/.ssh/authorized_keys and
HostKeyAlias=no-pty had ssh append `no-pty ssh-ed25519 KEY` (a valid authorized key of
whoever owns the host) to the operator's authorized_keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.one_host_inventory import load_with as _load
from wmx.errors import InputError
from wmx.site.ssh_options import is_password_variable, ssh_args_problem

STRICT = "-o StrictHostKeyChecking=yes"

REFUSED = {
    "authorized-keys": (
        "-o UserKnownHostsFile=/root/.ssh/authorized_keys -o HostKeyAlias=no-pty "
        "-o StrictHostKeyChecking=accept-new",
        "UserKnownHostsFile",
    ),
    "known-hosts-unchecked": ("-o UserKnownHostsFile=~/.ssh/known_hosts", "StrictHostKeyChecking"),
    "known-hosts-two": (f"{STRICT} -o 'UserKnownHostsFile /x/known_hosts /y/z'", "one known"),
    "known-hosts-token": (f"{STRICT} -o UserKnownHostsFile=/x/%d/known_hosts", "%-tokens"),
    "known-hosts-env": (f"{STRICT} -o UserKnownHostsFile=${{HOME}}/known_hosts", "%-tokens"),
    "global-known-hosts": (f"{STRICT} -o GlobalKnownHostsFile=/etc/shadow", "GlobalKnown"),
    "alias-unchecked": ("-o HostKeyAlias=prod.example.org", "StrictHostKeyChecking=yes"),
    "alias-not-a-name": (f"{STRICT} -o HostKeyAlias=a,b", "a host name"),
    "accept-new": ("-o StrictHostKeyChecking=accept-new", "StrictHostKeyChecking"),
    "no": ("-oStrictHostKeyChecking=no", "known-hosts file"),
    "off": ("-o 'StrictHostKeyChecking off'", "known-hosts file"),
    "ask": ("-o StrictHostKeyChecking=ask", "known-hosts file"),
    "update-host-keys": ("-o UpdateHostKeys=yes", "rewrite"),
    "control-master-ask": ("-o ControlMaster=ask", "ssh-askpass"),
    "identity-agent": ("-o IdentityAgent=/tmp/sock", "IdentityAgent"),
    "certificate-file": ("-o CertificateFile=/tmp/c", "CertificateFile"),
    "include": ("-o Include=/tmp/c", "Include"),
    "jump-option": ("-o ProxyJump=-oProxyCommand=x", "[user@]host[:port]"),
    "jump-flag": ("-J -oProxyCommand=x", "-J"),
    "jump-flag-joined": ("-J'x -oProxyCommand=y'", "-J"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_an_ssh_option_that_writes_or_reads_files_here_is_refused(
    tmp_path: Path, case: str
) -> None:
    value, says = REFUSED[case]
    with pytest.raises(InputError) as refused:
        _load(tmp_path, "ansible_ssh_common_args", repr(value).replace("\\\\", "\\"))
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'inventory.yml'}:5: hs1.ansible_ssh_common_args: ")
    assert says in message and "\n" not in message, message


@pytest.mark.parametrize(
    "value",
    [
        # The lab's own (wmx.ops.lab_glue), which checks strictly, and what reaches a host.
        f"-o UserKnownHostsFile=/x/known_hosts {STRICT} -o IdentitiesOnly=yes",
        f"{STRICT} -o UserKnownHostsFile=~/.ssh/known_hosts.lab -o HostKeyAlias=hs1.example",
        f"{STRICT} -o 'GlobalKnownHostsFile none' -o UpdateHostKeys=no",
        "-o ProxyJump=admin@bastion.example.org:2222,jump2 -J [2001:db8::1]:22",
        "-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=yes",
        "-i ~/.ssh/id_ed25519 -o IdentityFile=~/.ssh/other -4 -C",
        # OpenSSH's own global file's name, and an alias of the operator's ~/.ssh/config.
        f"{STRICT} -o GlobalKnownHostsFile=/etc/ssh/ssh_known_hosts",
        "-o ProxyJump=bastion_prod -J admin@jump_2:2222",
    ],
)
def test_what_reaches_and_checks_the_host_is_allowed(value: str) -> None:
    assert ssh_args_problem(value) is None


@pytest.mark.parametrize(
    "key",
    [
        "ansible_ssh_private_key_passphrase",
        "ansible_private_key_passphrase",
        "ansible_paramiko_pass",
        "ansible_winrm_pass",
        "ansible_winrm_password",
        "ansible_httpapi_pass",
        "ansible_psrp_password",
        "ansible_doas_pass",  # a become plugin of a collection: by its name
    ],
)
def test_every_plugins_password_is_refused_in_plain_text(tmp_path: Path, key: str) -> None:
    with pytest.raises(InputError) as refused:
        _load(tmp_path, key, "SuperSecretPassphrase")
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'inventory.yml'}:5: hs1.{key}: "), message
    assert "SuperSecretPassphrase" not in message and "value not shown" in message


def test_names_that_only_look_like_passwords_are_not() -> None:
    for key in ("ansible_sshpass_prompt", "ansible_ssh_password_mechanism", "passage"):
        assert not is_password_variable(key), key


VAULT = """!vault |
        $ANSIBLE_VAULT;1.1;AES256
        61626364656667686970717273747576777879306162636465666768697071727374757677787930
"""


@pytest.mark.parametrize("key", ["ansible_ssh_executable", "ansible_ssh_args"])
def test_a_connection_variable_wmx_checks_may_not_hide_in_a_vault(tmp_path: Path, key: str) -> None:
    with pytest.raises(InputError) as refused:
        _load(tmp_path, key, VAULT)
    message = str(refused.value)
    assert f"hs1.{key}: a vault-encrypted value (value not shown)" in message, message
