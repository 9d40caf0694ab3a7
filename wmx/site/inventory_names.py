"""The names of an inventory's variables, and its variable files that wmx cannot read,
checked before Ansible reads them.

Ansible keeps some names for itself: its special variables (`omit`, `hostvars`,
`playbook_dir`, `ansible_facts`, …) and the keywords of plays and tasks (`name`, `vars`,
`environment`, …). An inventory variable of such a name is used in Ansible's place where
a playbook reads it (every `default(omit)` of a role would run the site's `omit`), and
Ansible says so only in a warning of many lines quoting the inventory. A name that is no
identifier (`\uff41nsible_host`, with a fullwidth a, reads as `ansible_host` to a person)
is kept by Ansible with a deprecation warning. Both are refused here with file, line and
name, before Ansible reads a thing.

A vault-encrypted file of group_vars/ or host_vars/ is refused too: wmx holds no vault
password, so it could check none of the variables inside (an `ansible_ssh_common_args`
with a ProxyCommand there would reach ssh unchecked). A secret is kept as one encrypted
value instead (`ansible-vault encrypt_string`), which wmx leaves to Ansible.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import Any

from wmx.errors import InputError
from wmx.site.inventory_shape import vars_files
from wmx.site.yamlfile import line_of, load_document, read_site_bytes

# Ansible's special variables (docs: "Special Variables") and the names
# ansible.vars.reserved.get_reserved_names() gives (play, role, block and task keywords
# and the template globals); tests/unit/test_inventory_hostile_names.py keeps the second
# part equal to what the installed ansible-core says, without importing it here (a site's
# cached read does not import Ansible).
RESERVED_NAMES = frozenset(
    {
        # special variables
        "ansible_check_mode", "ansible_collection_name", "ansible_config_file",
        "ansible_dependent_role_names", "ansible_diff_mode", "ansible_facts",
        "ansible_failed_result", "ansible_failed_task", "ansible_forks", "ansible_index_var",
        "ansible_inventory_sources", "ansible_limit", "ansible_local", "ansible_loop",
        "ansible_loop_var", "ansible_parent_role_names", "ansible_parent_role_paths",
        "ansible_play_batch", "ansible_play_hosts", "ansible_play_hosts_all",
        "ansible_play_name", "ansible_play_role_names", "ansible_playbook_python",
        "ansible_role_name", "ansible_role_names", "ansible_run_tags", "ansible_search_path",
        "ansible_skip_tags", "ansible_verbosity", "ansible_version", "group_names", "groups",
        "hostvars", "inventory_dir", "inventory_file", "inventory_hostname",
        "inventory_hostname_short", "omit", "play_hosts", "playbook_dir", "role_name",
        "role_names", "role_path", "role_uuid",
        # ansible.vars.reserved.get_reserved_names() of ansible-core 2.19
        "action", "always", "any_errors_fatal", "args", "async", "async_val", "become",
        "become_exe", "become_flags", "become_method", "become_user", "block",
        "changed_when", "check_mode", "collections", "connection", "cycler", "debugger",
        "delay", "delegate_facts", "delegate_to", "dict", "diff", "environment", "fact_path",
        "failed_when", "force_handlers", "gather_facts", "gather_timeout", "handlers",
        "hosts", "ignore_errors", "ignore_unreachable", "joiner", "lipsum", "local_action",
        "lookup", "loop", "loop_control", "loop_with", "max_fail_percentage",
        "module_defaults", "name", "namespace", "no_log", "notify", "now", "order",
        "poll", "port", "post_tasks", "pre_tasks", "q", "query", "range", "register",
        "remote_user", "rescue", "retries", "roles", "run_once", "serial", "strategy",
        "tags", "tasks", "throttle", "timeout", "undef", "until", "vars", "vars_files",
        "vars_prompt", "when", "with_",
    }
)  # fmt: skip
# Ansible's validate_variable_name: an ASCII identifier, no Jinja constant.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JINJA_CONSTANTS = frozenset({"true", "false", "none", "True", "False", "None"})


def name_problem(name: object) -> str | None:
    """Why `name` may not be an inventory variable's name (None: it may)."""
    if not isinstance(name, str):
        return "a variable's name is text"
    if not _IDENTIFIER.fullmatch(name) or keyword.iskeyword(name) or name in _JINJA_CONSTANTS:
        return (
            "not a variable name Ansible accepts (ASCII letters, digits and _, not starting "
            "with a digit; not a Python keyword, true, false or none)"
        )
    if name in RESERVED_NAMES:
        return (
            "a name Ansible keeps for its own variables or keywords: a playbook would read "
            "the site's value in their place (a role's `default(omit)` would use this "
            "`omit`); rename it"
        )
    return None


def check_variable_names(inventory: Path) -> None:
    """Refuse the first variable of `inventory`, group_vars/ or host_vars/ whose name
    Ansible keeps or refuses, and a vault-encrypted variable file
    (`FILE:LINE: WHERE.NAME: cause`)."""
    document = load_document(inventory)
    for group, body in document.items():
        _check_group(inventory, document, (str(group),), body)
    for file in vars_files(inventory):
        if read_site_bytes(file).startswith(b"$ANSIBLE_VAULT"):
            raise InputError(
                f"{file}:1: a vault-encrypted file, which wmx cannot read (it holds no vault "
                "password) and so cannot check the variables in it: write the file in plain "
                "text and encrypt each secret alone (`ansible-vault encrypt_string`)"
            )
        variables = load_document(file)
        scope = file.parent.name if file.parent.parent.name in ("group_vars", "host_vars") else ""
        _check_names(file, variables, (), variables, scope or file.stem)


def _check_group(path: Path, document: Any, loc: tuple[str, ...], group: Any) -> None:
    """Names under a group of the inventory (check_shape has held its shape)."""
    if not isinstance(group, dict):
        return
    _check_names(path, document, (*loc, "vars"), group.get("vars"), loc[-1])
    hosts = group.get("hosts")
    for host, variables in hosts.items() if isinstance(hosts, dict) else ():
        _check_names(path, document, (*loc, "hosts", str(host)), variables, str(host))
    children = group.get("children")
    for child, body in children.items() if isinstance(children, dict) else ():
        _check_group(path, document, (*loc, "children", str(child)), body)


def _check_names(
    path: Path, document: Any, loc: tuple[str, ...], variables: Any, owner: str
) -> None:
    if not isinstance(variables, dict):
        return
    for name in variables:
        problem = name_problem(name)
        if problem is None:
            continue
        line = line_of(document, (*loc, name))
        where = f"{path}:{line}" if line else str(path)
        shown = name if isinstance(name, str) and name.isascii() else ascii(name)[:64]
        shown = shown if shown.isprintable() else repr(shown[:64])
        raise InputError(f"{where}: {owner}.{shown}: {problem}")
