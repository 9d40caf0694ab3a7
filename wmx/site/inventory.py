"""The site's Ansible inventory, read the way `wmx deploy` reads it: through ansible-core.

Groups and hosts come from Ansible's YAML inventory plugin (host ranges such as
`web[01:03]` included), and each host's variables from Ansible's variable manager:
`all.vars`, group and host variables in the file, `group_vars/` and `host_vars/` beside
it. `wmx status`, `logs`, `backup` and the admin tunnel connect with those (wmx.ssh), so
they reach a host as the playbook does. ansible-core is imported here only, when a site
is loaded (it is slow to import), and not at all when the site's cache of the last read
still holds and bears this user's seal (wmx.site.inventory_cache: a cache the site ships
is never taken; the cached values pass the same checks).

Variables are never templated here: a template may run anything (`lookup('pipe', …)`),
and a site is untrusted data that `wmx render` or `wmx diff` must be able to read
safely. Nor may Ansible template them in the playbook: it reads the inventory itself, and
templates every connection variable it uses (`ansible_python_interpreter`, …) on the
machine that deploys. So no variable of the inventory, `group_vars/` or `host_vars/` may
hold what Ansible 2.19 takes for a template (`{{`, `{%`, `{#` anywhere, or a leading
`#jinja2:` header, which sets other delimiters: `[[ lookup('pipe', …) ]]`), in its value
or in a name nested in it; it is refused with the file, line and name. Nor is the
inventory ever a program: only Ansible's YAML inventory plugin reads it, here and in a
deploy (wmx.run.environment), never its `script` plugin, which runs an executable file
(a `#!` line is a YAML comment), and a `#!` first line is refused. Vault-encrypted
values are left out (wmx never reads them; Ansible decrypts them in the playbook): they
are the way to keep a secret there.
"""

from __future__ import annotations

import contextlib
import datetime
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wmx.errors import InputError
from wmx.site.ansible_config import importing_ansible
from wmx.site.hostnames import check_connection_vars, check_groups, check_inventory_hosts
from wmx.site.internal_address import (
    INTERNAL_ADDRESS,
    check_internal_address,
    check_public_address,
    check_reached_by_ip,
)
from wmx.site.inventory_cache import inputs_digest, load_cached, store
from wmx.site.inventory_lines import entry_line, member_line, variable_line, variable_written
from wmx.site.inventory_names import check_variable_names
from wmx.site.inventory_shape import YAML_PLUGIN, check_not_program, check_shape, check_vars_files
from wmx.site.ssh_options import (
    HOST_KEY_CHECKING,
    REFUSED_VARIABLES,
    SSH_ARG_VARIABLES,
    name_problem,
)
from wmx.site.topology import (
    DEFAULT_MEMORY_MB,
    GROUPS,
    MANY_HOST_GROUPS,
    OPTIONAL_GROUPS,
    HostView,
    Topology,
)
from wmx.site.yaml_scalars import not_text, quote_advice
from wmx.site.yamlfile import load_document

INVENTORY_FILE = "inventory.yml"
# Ansible's own groups: every host is in `all`, hosts of no group in `ungrouped`.
_IMPLICIT_GROUPS = frozenset({"all", "ungrouped"})
# Variables Ansible adds to every host's; not the inventory's own, so not kept.
_MAGIC_VARIABLES = frozenset(
    {
        "ansible_config_file",
        "ansible_facts",
        "ansible_playbook_python",
        "ansible_version",
        "group_names",
        "groups",
        "hostvars",
        "inventory_dir",
        "inventory_file",
        "inventory_hostname",
        "inventory_hostname_short",
        "omit",
        "playbook_dir",
    }
)


_UNREADABLE = object()


def _plain(value: Any) -> Any:
    """Ansible's tagged strings, numbers and containers as plain Python values;
    _UNREADABLE for what is not plain data (a vault-encrypted value)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, dict):
        items = {str(k): _plain(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v is not _UNREADABLE}
    if isinstance(value, list | tuple):
        return [v for v in map(_plain, value) if v is not _UNREADABLE]
    return _UNREADABLE


# The variables wmx reads (wmx.ssh, memory_mb): plain values only (see above).
_READ_BY_WMX = frozenset(
    {
        "ansible_host", "ansible_ssh_host", "ansible_port", "ansible_ssh_port",
        "ansible_user", "ansible_ssh_user", "ansible_private_key_file",
        "ansible_ssh_private_key_file", "ansible_ssh_common_args", "ansible_ssh_extra_args",
        "ansible_become", "ansible_become_user", "ansible_become_method", "memory_mb",
        "public_ipv4", "public_ipv6", INTERNAL_ADDRESS,
    }
)  # fmt: skip


# Connection variables wmx checks (wmx.site.ssh_options) but does not use: a
# vault-encrypted one (`ansible_ssh_executable: !vault …`) would reach Ansible unchecked.
# So would one of a name ssh_options refuses (_checked).
_CHECKED_BY_WMX = frozenset(
    {*SSH_ARG_VARIABLES, *REFUSED_VARIABLES, *HOST_KEY_CHECKING, "ansible_connection"}
)

# What Ansible 2.19 takes for a possible template (_jinja_bits.is_possibly_template): a
# start string of its default delimiters anywhere, or the `#jinja2:` header first, whose
# overrides (variable_start_string, …) make any other text a template.
_TEMPLATE_MARKS = ("{{", "{%", "{#")
_TEMPLATE_HEADER = "#jinja2:"

# The variables wmx reads as text. Ansible reads the inventory as YAML 1.1, which makes
# unquoted `no`/`off` false, `017` 15, `1:20` 80, `1_00` 100, `2026-01-01` a date: it
# would use that value, so such a value is refused, asking for quotes (yaml_scalars).
_TEXT_VARIABLES = _READ_BY_WMX - {
    "ansible_port", "ansible_ssh_port", "ansible_become", "memory_mb", "public_ipv4",
    "public_ipv6",
}  # fmt: skip

# The playbooks' own variables: wmx gives them (build/<host>/.wmx/vars.json) or the
# roles set them. An inventory variable of such a name would be read where the role's is
# not set (`hostvars[h].backup_ssh_public_key is defined` lands in a backup host's
# authorized_keys), so the inventory may not set one: a role's name and `_`, or `wmx_`,
# `acme_` (tests/unit/test_hostile_inventory.py checks that every role is here).
PLAYBOOK_PREFIXES = (
    "wmx_", "acme_", "backup_", "base_", "element_", "exporters_", "irc_bridge_",
    "monitoring_", "nginx_", "packages_", "paths_", "postgresql_", "redis_",
    "release_venvs_", "rendered_files_", "synapse_", "turn_", "units_",
)  # fmt: skip


def _is_template(value: Any) -> bool:
    """Template syntax anywhere in `value`: a text, or a list or mapping holding one (in a
    value or a key)."""
    if isinstance(value, str):
        return value.startswith(_TEMPLATE_HEADER) or any(m in value for m in _TEMPLATE_MARKS)
    if isinstance(value, dict):
        return any(_is_template(k) or _is_template(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_is_template(v) for v in value)
    return False


# What Ansible's YAML inventory plugin says of a file without a document.
_EMPTY = "Parsed empty YAML file"


def _one_line(message: object) -> str:
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return lines[0] if lines else "Ansible cannot read it"


def read_inventory(
    path: Path, cache: Path | None = None
) -> dict[str, tuple[set[str], dict[str, Any]]]:
    """host name → (its groups, its variables), as Ansible sees them for a playbook.

    With `cache` (a file under the site's .wmx/), a read whose inputs have not changed
    since this user's wmx last read and checked them comes from there, without Ansible
    (wmx.site.inventory_cache: sealed with a key the site cannot know); its values go
    through the same checks as a fresh read's."""
    check_not_program(path)  # before the cache: a program is never taken, cached or not
    key = None
    if cache is not None:
        try:
            key = inputs_digest(path)
        except OSError:
            key = None
    cached = load_cached(cache, key) if cache is not None and key is not None else None
    if cached is not None:
        _check_templates(path, cached)
        return cached
    # Broken YAML, and what Ansible's plugin would skip with a warning: said with its
    # line, before Ansible reads it.
    check_shape(path, load_document(path, ansible=True))
    check_vars_files(path)
    hosts = _read_with_ansible(path)
    _check_templates(path, hosts)
    return hosts


def _read_with_ansible(path: Path) -> dict[str, tuple[set[str], dict[str, Any]]]:
    # Names Ansible keeps for itself or refuses, and vault-encrypted variable files: said
    # with their file and line before Ansible reads (and warns about) them.
    check_variable_names(path)
    with importing_ansible():  # never an ansible.cfg of the current directory (the site)
        from ansible import constants
        from ansible.errors import AnsibleError
        from ansible.inventory.data import InventoryData
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader
        from ansible.plugins.loader import inventory_loader
        from ansible.utils.display import Display
        from ansible.vars.manager import VariableManager

    # The YAML plugin alone, whatever the operator's configuration enables: `script` would
    # run an executable inventory.yml, `auto` any plugin its `plugin:` names.
    constants.INVENTORY_ENABLED = [YAML_PLUGIN]
    loader = DataLoader()
    hosts: dict[str, tuple[set[str], dict[str, Any]]] = {}
    try:
        with _quiet(Display()):
            # The YAML plugin alone first: its error is the one to show. (The manager
            # would try every plugin, print each one's warning, and go on with no host.)
            inventory_loader.get(YAML_PLUGIN).parse(InventoryData(), loader, str(path), cache=False)
            manager = InventoryManager(loader=loader, sources=[str(path)])
            variables = VariableManager(loader=loader, inventory=manager)
            found_hosts = [
                (host, variables.get_vars(host=host, include_hostvars=False))
                for host in manager.get_hosts()
            ]
    except AnsibleError as exc:
        said = _one_line(exc.message)
        if said == _EMPTY:  # Ansible's words, with the way to a first inventory
            said = f"{said}: no host in it; `wmx init` writes one (inventories/ has examples)"
        raise InputError(f"{path}: {said}") from None
    except (ValueError, TypeError) as exc:
        # Python's own error from inside Ansible (a host range check_shape let through):
        # still one line, never a traceback.
        raise InputError(f"{path}: Ansible cannot read it ({_one_line(exc)[:120]})") from None
    for host, found in found_hosts:
        own = {str(k): _plain(v) for k, v in found.items() if k not in _MAGIC_VARIABLES}
        # Names too as plain str: Ansible's are tagged, which YAML writers refuse.
        groups = {_plain(g.name) for g in host.get_groups()} - _IMPLICIT_GROUPS
        for key in sorted(_TEXT_VARIABLES & set(found)):
            if not_text(found[key]):
                where, text = variable_written(path, _plain(host.name), groups, key)
                advice = quote_advice(found[key], text, "Ansible (YAML 1.1)")
                raise InputError(f"{where}: {_plain(host.name)}.{key}: {advice}")
        for key in sorted(k for k in found if _checked(k)):
            _check_readable(path, _plain(host.name), groups, key, found[key])
        readable = {k: v for k, v in own.items() if v is not _UNREADABLE}
        hosts[_plain(host.name)] = (groups, readable)
    return hosts


def _checked(key: str) -> bool:
    """Whether wmx reads or checks the variable `key`, so that it must be plain data."""
    return key in _READ_BY_WMX or key in _CHECKED_BY_WMX or name_problem(key) is not None


@contextlib.contextmanager
def _quiet(display: Any) -> Iterator[None]:
    """Ansible's warnings and deprecations while it reads the site (a host and group of
    one name, …) are blocks of many lines quoting the inventory, passwords too: not
    shown. What wmx refuses is said in its own one line; what Ansible refuses is its
    error, raised. Python's warnings from Ansible's imports are not shown either."""
    display.display = lambda *args, **kwargs: None  # the one writer of them all
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        del display.display  # the class's own again


def _check_readable(path: Path, host: str, groups: set[str], key: str, value: Any) -> None:
    """A variable wmx reads itself must be plain data all through: one Ansible makes into
    something else (`!!binary`, `!!set`, a vault-encrypted value, a date where a number
    goes) had been left out without a word, and wmx went on with its default (the host's
    name for ansible_host, 2048 for memory_mb) where Ansible would use the value."""
    unreadable = _unreadable_part(value)
    if unreadable is None:
        return
    raise InputError(
        f"{variable_line(path, host, groups, key)}: {host}.{key}: {_kind(unreadable)} "
        "(value not shown), which wmx cannot read: wmx reads or checks this variable "
        "itself; write it as plain text, a number or a list of them"
    )


def _unreadable_part(value: Any) -> Any:
    """The first part of `value` that _plain leaves out, or None."""
    if isinstance(value, dict):
        parts: Any = value.values()
    elif isinstance(value, list | tuple):
        parts = value
    else:
        return value if _plain(value) is _UNREADABLE else None
    return next((p for p in map(_unreadable_part, parts) if p is not None), None)


def _kind(value: Any) -> str:
    name = type(value).__name__
    if "vault" in name.lower() or "encrypted" in name.lower():
        return "a vault-encrypted value"
    if isinstance(value, bytes):
        return "binary data (!!binary)"
    if isinstance(value, set | frozenset):
        return "a set (!!set)"
    if isinstance(value, datetime.date | datetime.time):
        return "a date or time"
    return f"a {name[:40]}"


def _check_templates(path: Path, hosts: dict[str, tuple[set[str], dict[str, Any]]]) -> None:
    for name, (groups, values) in sorted(hosts.items()):
        for key in sorted(values):
            if key.startswith(PLAYBOOK_PREFIXES):
                shown = key if key.isprintable() and len(key) <= 64 else repr(key[:64])
                prefix = next(p for p in PLAYBOOK_PREFIXES if key.startswith(p))
                raise InputError(
                    f"{variable_line(path, name, groups, key)}: {name}.{shown}: a name of wmx's "
                    f"playbooks ({prefix}…), which would read it where wmx sets none: "
                    "remove or rename it (settings belong in wmx.yaml)"
                )
        for key in sorted(values, key=lambda k: (k not in _READ_BY_WMX, k)):
            if not (_is_template(key) or _is_template(values[key])):
                continue
            where = variable_line(path, name, groups, key, _is_template)
            shown = key if key.isprintable() and len(key) <= 64 else repr(key[:64])
            if key in _READ_BY_WMX:  # no secret: quoted as written
                raise InputError(
                    f"{where}: {name}.{shown}: a template ({str(values[key])[:80]!r}); wmx "
                    "reads this variable itself and never runs templates of a site: write "
                    "the value"
                )
            # The value is not quoted: it may hold a password.
            raise InputError(
                f"{where}: {name}.{shown}: holds template syntax ({{{{, {{%, {{# or a "
                "#jinja2: header; value not shown); Ansible would run it on this machine, and "
                "wmx never lets a site's template run: write the value (a secret: encrypted "
                "with ansible-vault)"
            )


def load_topology(path: Path, cache: Path | None = None, *, remember: bool = True) -> Topology:
    """The site's hosts and groups from `path`, checked; `cache`: see read_inventory.

    The cache is written only once every check of the inventory has passed: a refused
    inventory leaves nothing behind. With `remember=False` it is not written here: the
    caller does it with remember_topology once the rest of the site has passed too."""
    found = read_inventory(path, cache)
    if not found:
        raise InputError(f"{path}: no hosts; add one under all.hosts")
    # Host names become paths under build/, addresses (ansible_host, internal_address)
    # land in firewalls, configs and the database's certificate: each as checked and given
    # back (IPv6 compressed, lower case), so that one address is written one way everywhere.
    addresses = check_inventory_hosts(path, ((name, found[name][1]) for name in sorted(found)))
    hosts = []
    for name in sorted(found):
        groups, values = found[name]
        memory = values.get("memory_mb", DEFAULT_MEMORY_MB)
        # Up to 4 TiB: a quarter of it as shared_buffers stays within what PostgreSQL takes.
        if not isinstance(memory, int) or isinstance(memory, bool) or not 512 <= memory <= 1 << 22:
            raise InputError(
                f"{variable_line(path, name, groups, 'memory_mb')}: {name}.memory_mb: must be "
                "a whole number of MiB from 512 to 4194304"
            )
        for key, version in (("public_ipv4", 4), ("public_ipv6", 6)):
            check_public_address(path, name, groups, key, version, values.get(key))
        internal = values.get(INTERNAL_ADDRESS)
        hosts.append(
            HostView(
                name=name,
                address=addresses.get(name, name),
                groups=tuple(sorted(groups)),
                memory_mb=memory,
                vars=values,
                internal=(
                    None
                    if internal is None
                    else check_internal_address(path, name, groups, internal)
                ),
            )
        )
    topology = Topology(hosts=tuple(hosts))
    check_connection_vars(path, ((h.name, h.vars) for h in topology.hosts))
    # Unknown groups and misspelt hosts first: a host `matrx` under `proxy` beside
    # `matrix` would otherwise be blamed by a placement rule below (Element not on the
    # proxy host), which points at the wrong line and the wrong fix.
    check_groups(path, topology)
    _check_irc_bridge(path, topology)
    _check_element(path, topology)
    _check_counts(path, topology)
    check_reached_by_ip(path, topology)
    if cache is not None and remember:
        remember_topology(path, cache, topology)
    return topology


def remember_topology(path: Path, cache: Path, topology: Topology) -> None:
    """Store a fresh read of `path` for the next load (a cached read is not stored
    again): the hosts' groups and variables as read_inventory gave them."""
    hosts = {h.name: (set(h.groups), dict(h.vars)) for h in topology.hosts}
    try:
        key = inputs_digest(path)
    except OSError:
        return
    if load_cached(cache, key) is None:
        store(cache, key, hosts)


def _check_counts(path: Path, topology: Topology) -> None:
    """One host in each required group, at most one in each optional one (its component
    is then off): refused with the line of the entry of a host too many, or of the
    group when it holds none."""
    for group in GROUPS:
        if group in MANY_HOST_GROUPS:
            continue
        members = topology.in_group(group)
        # An optional component runs on one host, or on none (it is then switched off).
        allowed = (0, 1) if group in OPTIONAL_GROUPS else (1,)
        if len(members) not in allowed:
            wanted = "at most one host" if group in OPTIONAL_GROUPS else "exactly one host"
            held = ", ".join(h.name for h in members) if members else "none"
            where = (
                member_line(path, group, members[1].name)
                if len(members) > 1
                else entry_line(path, group, "children")
            )
            raise InputError(
                f"{where}: group {group!r} must hold {wanted} (it holds {held}); "
                f"groups name the components a host runs: {', '.join(GROUPS)}"
            )


def _check_irc_bridge(path: Path, topology: Topology) -> None:
    """The IRC bridge is an application service of Synapse, on Synapse's own host (they
    talk over loopback): said before the generic group counts, which would not say why."""
    bridges = topology.in_group("irc_bridge")
    if not bridges:
        return
    homeservers = topology.in_group("homeserver")
    if not homeservers:
        raise InputError(
            f"{member_line(path, 'irc_bridge', bridges[0].name)}: group 'irc_bridge' "
            f"({bridges[0].name}) needs a homeserver: the IRC bridge is an application "
            "service of Synapse; put a host in group 'homeserver', or remove group "
            "'irc_bridge'"
        )
    if len(bridges) == 1 and len(homeservers) == 1 and bridges[0].name != homeservers[0].name:
        raise InputError(
            f"{member_line(path, 'irc_bridge', bridges[0].name)}: group 'irc_bridge' must "
            f"hold the homeserver's host ({homeservers[0].name}), not {bridges[0].name}: the "
            "bridge and Synapse talk over loopback"
        )


def _check_element(path: Path, topology: Topology) -> None:
    """Element Web is served by the proxy's nginx, under the web client's own name."""
    clients = topology.in_group("element")
    proxies = topology.in_group("proxy")
    if len(clients) == 1 and len(proxies) == 1 and clients[0].name != proxies[0].name:
        raise InputError(
            f"{member_line(path, 'element', clients[0].name)}: group 'element' must hold "
            f"the proxy host ({proxies[0].name}), not {clients[0].name}: the proxy's nginx "
            "serves Element Web, with its certificate"
        )


def inventory_document(
    hosts: dict[str, dict[str, Any]], groups: dict[str, list[str]]
) -> dict[str, Any]:
    """Build an inventory mapping: host → vars, group → member names."""
    return {
        "all": {
            "hosts": hosts,
            "children": {g: {"hosts": {h: None for h in members}} for g, members in groups.items()},
        }
    }
