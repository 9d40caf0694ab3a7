"""What an inventory may tell ssh: options that reach the host, none that runs a program,
loads a library or opens a file or socket of the deploying machine.

Ansible's ssh and wmx's own (wmx.ssh) put `ansible_ssh_common_args`,
`ansible_ssh_extra_args` (and `ansible_ssh_args`, `ansible_scp_extra_args`,
`ansible_sftp_extra_args`) on ssh's command line on the operator's machine. A site is
edited by many hands: `-o ProxyCommand=…` there would run any command on that machine at
the next deploy, `ansible_connection: local` would deploy onto it, and
`ansible_ssh_executable` would run any program as ssh. What runs programs belongs to the
operator's own `~/.ssh/config`, which both ssh runs read; ProxyJump reaches a host
through a bastion without one.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator

# `-o` options a site may set (ssh_config(5) names, compared in lower case): how to reach
# and authenticate the host and check its key. Not here, so refused: ProxyCommand,
# LocalCommand, PermitLocalCommand, KnownHostsCommand, PKCS11Provider,
# SecurityKeyProvider, XAuthLocation, ControlPath, ForwardAgent, forwards, Include,
# Hostname, User and Port (the last three are the inventory's ansible_host, ansible_user
# and ansible_port, which are checked).
ALLOWED_OPTIONS = frozenset(
    name.lower()
    for name in (
        "AddressFamily", "BatchMode", "CASignatureAlgorithms", "ChannelTimeout",
        "CheckHostIP", "Ciphers", "Compression", "ConnectionAttempts", "ConnectTimeout",
        "ControlMaster", "ControlPersist", "GlobalKnownHostsFile", "GSSAPIAuthentication",
        "HashKnownHosts", "HostKeyAlgorithms", "HostKeyAlias", "IdentitiesOnly",
        "IdentityFile", "IPQoS", "KbdInteractiveAuthentication", "KexAlgorithms", "LogLevel",
        "MACs", "NumberOfPasswordPrompts", "ObscureKeystrokeTiming", "PasswordAuthentication",
        "PreferredAuthentications", "ProxyJump", "PubkeyAcceptedAlgorithms",
        "PubkeyAcceptedKeyTypes", "PubkeyAuthentication", "RekeyLimit", "RequiredRSASize",
        "ServerAliveCountMax", "ServerAliveInterval", "StrictHostKeyChecking", "TCPKeepAlive",
        "UpdateHostKeys", "UserKnownHostsFile", "VerifyHostKeyDNS",
    )
)  # fmt: skip
# Flags without a value, and flags whose value follows: -J bastion (ProxyJump), -i key.
_FLAGS = frozenset("46Cqv")
_WITH_VALUE = frozenset("Ji")

SSH_ARG_VARIABLES = (
    "ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_ssh_args",
    "ansible_scp_extra_args", "ansible_sftp_extra_args",
)  # fmt: skip
# Connection variables a site may not set at all, and why.
REFUSED_VARIABLES = {
    "ansible_ssh_executable": "it names the program run as ssh on this machine",
    "ansible_control_path": "it names a socket on this machine",
    "ansible_control_path_dir": "it names a directory on this machine",
    "ansible_ssh_pkcs11_provider": "it loads a library into ssh on this machine",
}
# Passwords: a site's inventory is shared (often in git) and wmx's own ssh logs in with
# keys only (BatchMode); the sudo password has its place in secrets.yml. An
# ansible-vault encrypted value is not read by wmx and stays Ansible's.
PASSWORD_VARIABLES = (
    "ansible_password", "ansible_ssh_pass", "ansible_ssh_password", "ansible_become_password",
    "ansible_become_pass", "ansible_sudo_pass", "ansible_sudo_password",
)  # fmt: skip
_PASSWORD_WAY_OUT = (
    "a password in plain text in the inventory (value not shown); keep the login user's "
    "sudo password in secrets.yml with `wmx secrets sudo-password`, log in with an SSH "
    "key, or encrypt the value with ansible-vault"
)
_WAY_OUT = (
    "a site may not set it: put it in your own ~/.ssh/config, which Ansible's ssh and "
    "wmx's read (ProxyJump, allowed here, reaches a host through a bastion)"
)


def ssh_args_problem(value: object) -> str | None:
    """Why `value` (ssh arguments as one string) may not come from a site; None if it may."""
    if not isinstance(value, str):
        return f"{str(value)[:80]!r} is not text (ssh's arguments as one line)"
    try:
        words = shlex.split(value)
    except ValueError as exc:
        return f"cannot be split into ssh arguments ({exc})"
    return next(_refused(iter(words)), None)


def _refused(words: Iterator[str]) -> Iterator[str]:
    """Why each ssh argument in `words` that a site may not give is refused."""
    for word in words:
        if word.startswith("-o"):
            setting = word[2:] or next(words, "")
            name = setting.replace("=", " ", 1).split(" ", 1)[0].strip()
            if name.lower() not in ALLOWED_OPTIONS:
                shown = name[:40] if name.isprintable() else repr(name[:40])
                yield f"ssh option {shown or '-o'} is not one a site may set; {_WAY_OUT}"
        elif word[:1] == "-" and word[1:2] in _WITH_VALUE:
            if len(word) == 2:  # -J bastion, -i KEY; else -Jbastion, -i/path
                next(words, None)
        elif not (word[:1] == "-" and len(word) > 1 and set(word[1:]) <= _FLAGS):
            shown = word[:40] if word.isprintable() else repr(word[:40])
            yield f"ssh argument {shown} is not one a site may give; {_WAY_OUT}"


def connection_problem(key: str, value: object) -> str | None:
    """Why the connection variable `key` may not hold `value` in a site (None: it may)."""
    if key in SSH_ARG_VARIABLES:
        return ssh_args_problem(value)
    if key in PASSWORD_VARIABLES:
        return _PASSWORD_WAY_OUT
    if key in REFUSED_VARIABLES:
        return f"{REFUSED_VARIABLES[key]}; {_WAY_OUT}"
    if key == "ansible_connection" and value != "ssh":
        return (
            f"{str(value)[:40]!r}: wmx reaches its hosts over ssh only (`local` would deploy "
            "onto this machine); remove it or set ssh"
        )
    return None
