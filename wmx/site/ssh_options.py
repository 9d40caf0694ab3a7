"""What an inventory may tell ssh: options that reach the host, none that runs a program,
loads a library or opens a file or socket of the deploying machine.

Ansible's ssh and wmx's own (wmx.ssh) put `ansible_ssh_common_args`,
`ansible_ssh_extra_args` (and `ansible_ssh_args`, `ansible_scp_extra_args`,
`ansible_sftp_extra_args`) on ssh's command line on the operator's machine. A site is
edited by many hands: `-o ProxyCommand=…` there would run any command on that machine at
the next deploy, `ansible_connection: local` would deploy onto it, and
`ansible_ssh_executable` (or `ansible_sftp_executable`, run for every file copied) would
run any program as ssh. What runs programs belongs to the operator's own `~/.ssh/config`,
which both ssh runs read; ProxyJump reaches a host through a bastion without one.

Of the variables of Ansible's connection plugins, a site sets only those of its ssh
connection that wmx knows (SSH_VARIABLES), never one that names a program of this
machine, and never host key checking off: the way a deploy reaches a host is decided
here, by the operator, and a name wmx does not know is refused rather than trusted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping

# `-o` options a site may set (ssh_config(5) names, compared in lower case): how to reach
# and authenticate the host and check its key. Not here, so refused: ProxyCommand,
# LocalCommand, PermitLocalCommand, KnownHostsCommand, PKCS11Provider,
# SecurityKeyProvider, XAuthLocation, ControlPath, IdentityAgent, CertificateFile,
# ForwardAgent, forwards, Include, Hostname, User and Port (the last three are the
# inventory's ansible_host, ansible_user and ansible_port, which are checked). Some of
# the allowed ones take only some values (_VALUES, _value_problem).
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
# Options of the list above that write a file or run a program of this machine with some
# of their values: only these values, and why the others are refused. ssh adds a new
# host's key to the known-hosts file with StrictHostKeyChecking accept-new, no or off
# (with UserKnownHostsFile=~/.ssh/authorized_keys and HostKeyAlias=no-pty, the line it
# appends is a valid authorized key of the host's owner), rewrites it with
# UpdateHostKeys, and runs ssh-askpass with ControlMaster ask.
_VALUES = {
    "stricthostkeychecking": (
        ("yes", "true"),
        "a site may only make ssh check host keys strictly (yes): with other values ssh "
        "writes an unknown host's key into a known-hosts file of this machine, or asks",
    ),
    "updatehostkeys": (
        ("no", "false"),
        "a site may only set no: ssh would rewrite a known-hosts file of this machine",
    ),
    "controlmaster": (
        ("yes", "no", "auto", "true", "false"),
        "ask and autoask run ssh-askpass on this machine; use yes, no or auto",
    ),
}
# Options that name a known-hosts file or the name a host's key is kept under there: only
# with StrictHostKeyChecking=yes in the same arguments, so that ssh reads that file and
# never writes it (nor a planted key under another host's name in the operator's own).
_KNOWN_HOSTS = frozenset({"userknownhostsfile", "globalknownhostsfile", "hostkeyalias"})
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# One hop of ProxyJump or -J: [ssh://][user@]host[:port], the host a name, an address, or
# an alias of the operator's ~/.ssh/config (`bastion_prod`: underscores too).
_ALIAS_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_JUMP = re.compile(
    rf"(?:ssh://)?(?:[A-Za-z_][A-Za-z0-9_.-]{{0,31}}@)?(?:{_ALIAS_LABEL}(?:\.{_ALIAS_LABEL})*"
    r"|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?"
)
# Flags without a value, and flags whose value follows: -J bastion (ProxyJump), -i key.
_FLAGS = frozenset("46Cqv")
_WITH_VALUE = frozenset("Ji")

SSH_ARG_VARIABLES = (
    "ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_ssh_args",
    "ansible_scp_extra_args", "ansible_sftp_extra_args",
)  # fmt: skip
# Connection variables a site may not set at all, and why: each names a program, socket,
# directory or library of the machine that deploys. Ansible's ssh runs its ssh for every
# task and its sftp or scp for every file copied; paramiko's ProxyCommand and WinRM's
# kinit would run if the operator's own settings chose those connections.
REFUSED_VARIABLES = {
    "ansible_ssh_executable": "it names the program run as ssh on this machine",
    "ansible_sftp_executable": "it names the program run as sftp on this machine",
    "ansible_scp_executable": "it names the program run as scp on this machine",
    "ansible_control_path": "it names a socket on this machine",
    "ansible_control_path_dir": "it names a directory on this machine",
    "ansible_ssh_pkcs11_provider": "it loads a library into ssh on this machine",
    "ansible_paramiko_proxy_command": "it names a command run on this machine",
    "ansible_winrm_kinit_cmd": "it names the program run as kinit on this machine",
}
# Whether Ansible's ssh checks host keys: anything it does not read as true turns the
# checking off (its boolean(strict=False)), and it then puts `-o StrictHostKeyChecking=no`
# before the site's ssh arguments, where ssh takes the first value of an option.
HOST_KEY_CHECKING = ("ansible_host_key_checking", "ansible_ssh_host_key_checking")
_TRUE_WORDS = frozenset({"y", "yes", "on", "1", "true", "t"})
# A private key's text: a secret, like a password.
KEY_VARIABLES = ("ansible_private_key", "ansible_ssh_private_key")
# The variables of ansible-core 2.19's ssh connection a site may set (some are checked by
# value: the ssh arguments, the host, port and user, passwords, host key checking).
# tests/unit/test_inventory_hostile_connection.py keeps them, with the refused ones above,
# equal to the installed plugin's, so that a new one is looked at before it is let in.
SSH_VARIABLES = frozenset(
    {
        "ansible_host", "ansible_ssh_host", "ansible_port", "ansible_ssh_port",
        "ansible_user", "ansible_ssh_user", *HOST_KEY_CHECKING, "ansible_password",
        "ansible_ssh_pass", "ansible_ssh_password", "ansible_ssh_password_mechanism",
        "ansible_sshpass_prompt", *SSH_ARG_VARIABLES, "ansible_ssh_retries",
        "ansible_pipelining", "ansible_ssh_pipelining", "ansible_private_key_file",
        "ansible_ssh_private_key_file", *KEY_VARIABLES, "ansible_private_key_passphrase",
        "ansible_ssh_private_key_passphrase", "ansible_sftp_batch_mode",
        "ansible_ssh_transfer_method", "ansible_ssh_use_tty", "ansible_ssh_timeout",
        "ansible_ssh_verbosity",
    }
)  # fmt: skip
# The prefixes of ansible-core's connection plugins' own variables (ssh, paramiko, WinRM,
# PSRP, local): one of these names that is not in SSH_VARIABLES is refused.
CONNECTION_PREFIXES = (
    "ansible_ssh_", "ansible_scp_", "ansible_sftp_", "ansible_sshpass_", "ansible_control_",
    "ansible_paramiko_", "ansible_winrm_", "ansible_psrp_", "ansible_local_",
)  # fmt: skip
# Passwords: a site's inventory is shared (often in git) and wmx's own ssh logs in with
# keys only (BatchMode); the sudo password has its place in secrets.yml. An
# ansible-vault encrypted value is not read by wmx and stays Ansible's. Besides these,
# every connection or become plugin's password or key passphrase (ansible_paramiko_pass,
# ansible_winrm_password, ansible_ssh_private_key_passphrase, ansible_doas_pass, …):
# is_password_variable.
PASSWORD_VARIABLES = (
    "ansible_password", "ansible_ssh_pass", "ansible_ssh_password", "ansible_become_password",
    "ansible_become_pass", "ansible_sudo_pass", "ansible_sudo_password",
    "ansible_ssh_private_key_passphrase", "ansible_private_key_passphrase",
    "ansible_paramiko_pass", "ansible_paramiko_password", "ansible_winrm_pass",
    "ansible_winrm_password", "ansible_httpapi_pass", "ansible_httpapi_password",
    "ansible_psrp_pass", "ansible_psrp_password", "ansible_su_pass", "ansible_runas_pass",
)  # fmt: skip
_PASSWORD_NAME = re.compile(r"ansible_(?:\w*_)?pass(?:word|phrase)?", re.ASCII)
_PASSWORD_WAY_OUT = (
    "a password in plain text in the inventory (value not shown); keep the login user's "
    "sudo password in secrets.yml with `wmx secrets sudo-password`, log in with an SSH "
    "key, or encrypt the value with ansible-vault"
)
_KEY_WAY_OUT = (
    "a private key in plain text in the inventory (value not shown); name its file with "
    "ansible_ssh_private_key_file, or encrypt the value with ansible-vault"
)
_UNKNOWN = (
    "not a variable of Ansible's ssh connection that wmx knows (wmx reaches hosts over ssh "
    "only; wmx/site/ssh_options.py: SSH_VARIABLES): a connection's variable may name a "
    "program or file of this machine; remove it"
)
_UNCHECKED = (
    "a site may not turn host key checking off: Ansible's ssh would then write an unknown "
    "host's key into a known-hosts file of this machine (under any HostKeyAlias) and connect "
    "to a host whose key changed; for a throwaway lab, set ANSIBLE_HOST_KEY_CHECKING=False "
    "in your own environment"
)
_OPERATORS = (
    "a site may not set it (your own ~/.ssh/config, Ansible configuration or environment may)"
)
_WAY_OUT = (
    "a site may not set it: put it in your own ~/.ssh/config, which Ansible's ssh and "
    "wmx's read (ProxyJump, allowed here, reaches a host through a bastion)"
)


def is_password_variable(key: str) -> bool:
    """Whether `key` names a password or passphrase Ansible's plugins read."""
    return key in PASSWORD_VARIABLES or bool(_PASSWORD_NAME.fullmatch(key))


def ssh_args_problem(value: object, unchecked: str | None = None) -> str | None:
    """Why `value` (ssh arguments as one string) may not come from a site; None if it may.
    `unchecked`: the setting of the operator's environment that has Ansible's ssh not
    check host keys strictly (unchecked_here), which the site's own
    StrictHostKeyChecking=yes, coming after it on ssh's command line, cannot undo."""
    if not isinstance(value, str):
        return f"{str(value)[:80]!r} is not text (ssh's arguments as one line)"
    try:
        words = shlex.split(value)
    except ValueError as exc:
        return f"cannot be split into ssh arguments ({exc})"
    seen: dict[str, str] = {}  # option (lower case) → its name as written
    problem = next(_refused(iter(words), seen), None)
    known_hosts = sorted(seen.keys() & _KNOWN_HOSTS)
    if problem is None and known_hosts and "stricthostkeychecking" not in seen:
        problem = (
            f"ssh option {seen[known_hosts[0]]} only with -o StrictHostKeyChecking=yes in the "
            "same arguments: without it ssh may write a host's key into that file, or under "
            "that name, on this machine"
        )
    elif problem is None and known_hosts and unchecked is not None:
        problem = (
            f"ssh option {seen[known_hosts[0]]} not while {unchecked} in your environment has "
            "Ansible's ssh check host keys less than strictly: ssh takes that first, and would "
            "write a host's key into that file, or under that name, on this machine"
        )
    return problem


def checks_host_keys(value: object) -> bool:
    """Whether Ansible reads `value` as true, as its boolean(strict=False) does: `yes`,
    `on`, `1`, `true`, `t`, `y` (any case, trimmed), True or 1; anything else is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in _TRUE_WORDS


def unchecked_here(environ: Mapping[str, str]) -> str | None:
    """The variable of the operator's environment that has Ansible's ssh check host keys
    less than strictly, or None. wmx's runs keep the environment's host key checking
    (wmx.run.environment) and its ANSIBLE_SSH_ARGS, which come before a site's arguments
    on ssh's command line; ANSIBLE_SSH_HOST_KEY_CHECKING wins over
    ANSIBLE_HOST_KEY_CHECKING, as in Ansible."""
    for name in ("ANSIBLE_SSH_HOST_KEY_CHECKING", "ANSIBLE_HOST_KEY_CHECKING"):
        if name in environ:
            if not checks_host_keys(environ[name]):
                return name
            break
    try:
        words = iter(shlex.split(environ.get("ANSIBLE_SSH_ARGS", "")))
    except ValueError:
        return None  # Ansible cannot split it either: no run gets that far
    for word in words:
        if word.startswith("-o"):
            name, values = _option(word[2:] or next(words, ""))
            if name.lower() == "stricthostkeychecking":
                strict = values is not None and [v.lower() for v in values] in (["yes"], ["true"])
                return None if strict else "ANSIBLE_SSH_ARGS"
    return None


def _option(setting: str) -> tuple[str, list[str] | None]:
    """ssh_config's `Name value`, `Name=value` (quotes as ssh reads them): the name and
    its words, None when they cannot be split."""
    name, _, rest = setting.strip().replace("=", " = ", 1).partition(" ")
    rest = rest.strip()
    rest = rest[1:] if rest.startswith("=") else rest
    try:
        return name.strip(), shlex.split(rest)
    except ValueError:
        return name.strip(), None


def _shown(text: str) -> str:
    return text[:40] if text.isprintable() else repr(text[:40])


def _value_problem(name: str, words: list[str] | None) -> str | None:
    """Why an allowed option may not take `words` (None: it may)."""
    key = name.lower()
    one = words[0] if words is not None and len(words) == 1 else None
    if key in _VALUES:
        values, why = _VALUES[key]
        if one is None or one.lower() not in values:
            return f"ssh option {name}: {why}"
    elif key in ("userknownhostsfile", "globalknownhostsfile"):
        # One file (ssh takes several, and writes the first), named known_hosts… (or
        # ssh_known_hosts…, OpenSSH's global one), without ssh's %-tokens and
        # ${VARIABLES}: never authorized_keys or any other file here.
        base = (one or "").rsplit("/", 1)[-1]
        if (
            one is None
            or "%" in one
            or "$" in one
            or not (one == "none" or base.startswith(("known_hosts", "ssh_known_hosts")))
        ):
            return (
                f"ssh option {name}: one known-hosts file named known_hosts… or "
                "ssh_known_hosts… (no %-tokens or $VARIABLES) or none; ssh would read or "
                "write any other file of this machine"
            )
    elif key == "hostkeyalias":
        if one is None or len(one) > 253 or not _HOST_NAME.fullmatch(one):
            return f"ssh option {name}: a host name (letters, digits, hyphens and dots)"
    elif key == "proxyjump" and (one is None or _jump_problem(one)):
        return f"ssh option {name}: {_jump_problem(one or '')}"
    return None


def _jump_problem(value: str) -> str | None:
    """ProxyJump / -J: none, or bastions as [user@]host[:port], separated by commas."""
    if value == "none" or all(_JUMP.fullmatch(hop) for hop in value.split(",")):
        return None
    return (
        f"{_shown(value)!r} is not [user@]host[:port] (bastions separated by commas): "
        "ssh would read anything else as its own arguments"
    )


def _refused(words: Iterator[str], seen: dict[str, str]) -> Iterator[str]:
    """Why each ssh argument in `words` that a site may not give is refused; `seen`
    collects the options given."""
    for word in words:
        if word.startswith("-o"):
            name, values = _option(word[2:] or next(words, ""))
            if name.lower() not in ALLOWED_OPTIONS:
                yield f"ssh option {_shown(name) or '-o'} is not one a site may set; {_WAY_OUT}"
            elif values is None:
                yield f"ssh option {_shown(name)}: its value cannot be split into words"
            elif problem := _value_problem(_shown(name), values):
                yield problem
            seen.setdefault(name.lower(), _shown(name))
        elif word[:1] == "-" and word[1:2] in _WITH_VALUE:
            value = word[2:] or next(words, "")  # -J bastion, -i KEY; or -Jbastion, -i/path
            if word[1] == "J" and (problem := _jump_problem(value)):
                yield f"ssh argument -J: {problem}"
        elif not (word[:1] == "-" and len(word) > 1 and set(word[1:]) <= _FLAGS):
            yield f"ssh argument {_shown(word)} is not one a site may give; {_WAY_OUT}"


def name_problem(key: str) -> str | None:
    """Why a site may not set the variable `key` whatever its value (None: it may): one
    that names a program, socket, directory or library of this machine, and any other of
    a connection plugin's names (CONNECTION_PREFIXES) but the ssh connection's that wmx
    knows. Passwords and keys are refused in plain text only (connection_problem)."""
    if key in REFUSED_VARIABLES:
        return f"{REFUSED_VARIABLES[key]}; {_OPERATORS}"
    if (
        key.startswith(CONNECTION_PREFIXES)
        and key not in SSH_VARIABLES
        and not is_password_variable(key)
    ):
        return _UNKNOWN
    return None


def connection_problem(key: str, value: object, unchecked: str | None = None) -> str | None:
    """Why the connection variable `key` may not hold `value` in a site (None: it may).
    `unchecked`: as for ssh_args_problem."""
    if key in SSH_ARG_VARIABLES:
        return ssh_args_problem(value, unchecked)
    if is_password_variable(key):
        return _PASSWORD_WAY_OUT
    if key in KEY_VARIABLES:
        return _KEY_WAY_OUT
    if (problem := name_problem(key)) is not None:
        return problem
    if key in HOST_KEY_CHECKING and not checks_host_keys(value):
        return _UNCHECKED
    if key == "ansible_connection" and value != "ssh":
        return (
            f"{str(value)[:40]!r}: wmx reaches its hosts over ssh only (`local` would deploy "
            "onto this machine); remove it or set ssh"
        )
    return None
