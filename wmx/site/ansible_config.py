"""ansible-core's configuration in wmx's own process: found as for a deploy.

ansible-core reads its configuration once, when it is first imported, from the first of
$ANSIBLE_CONFIG, `ansible.cfg` in the current directory, `~/.ansible.cfg` and
`/etc/ansible/ansible.cfg`. wmx imports it to read a site's inventory, and the current
directory is then often the site (`cd SITE; wmx …`), which many hands edit: an
`ansible.cfg` there could name plugin directories whose Python Ansible would run in
wmx's process (`vars_plugins = ./plugins` did, on `wmx config validate`). A deploy's
ansible-playbook runs in the playbooks' directory; the import here happens there too, so
that both read the operator's configuration ($ANSIBLE_CONFIG, ~/.ansible.cfg,
/etc/ansible) and never a file of the site.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wmx.errors import InputError
from wmx.resources import data_dir


def ansible_directory() -> Path:
    """The directory ansible-core runs in for wmx: the playbooks' (no ansible.cfg there)."""
    return data_dir("playbooks")


def config_files() -> list[Path]:
    """Where ansible-core looks for its configuration for wmx (the first found wins)."""
    found = [
        ansible_directory() / "ansible.cfg",
        Path.home() / ".ansible.cfg",
        Path("/etc/ansible/ansible.cfg"),
    ]
    if "ANSIBLE_CONFIG" in os.environ:
        found.insert(0, Path(os.environ["ANSIBLE_CONFIG"]))
    return found


@contextmanager
def importing_ansible() -> Iterator[None]:
    """Import ansible-core's modules inside this: its configuration is read in the
    playbooks' directory, and the current directory is given back afterwards."""
    try:
        previous: str | None = os.getcwd()
    except OSError:  # a directory removed under us: nothing to read there, or to go back to
        previous = None
    os.chdir(ansible_directory())
    try:
        yield
    except Exception as exc:
        # ansible-core reads its configuration on import: $ANSIBLE_CONFIG naming
        # /etc/passwd or a directory, a .cfg it cannot parse. The operator's, not the
        # site's: one line saying so, not a traceback.
        if not type(exc).__module__.startswith("ansible."):
            raise
        given = os.environ.get("ANSIBLE_CONFIG")
        source = f"$ANSIBLE_CONFIG ({given[:200]!r})" if given is not None else "its configuration"
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        cause = lines[0][:300] if lines else type(exc).__name__
        raise InputError(f"ansible-core refuses {source}: {cause}") from None
    finally:
        if previous is not None:
            os.chdir(previous)
