"""The ansible-playbook wmx runs, and the environment it runs in.

wmx runs the ``ansible-playbook`` installed next to its own Python, so a deploy uses
the Ansible that wmx was installed and tested with, whether or not the virtualenv is
activated and whatever else is on ``PATH``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from wmx.run.errors import RunSetupError
from wmx.ssh import become


def ansible_playbook_executable() -> Path:
    """``ansible-playbook`` beside ``sys.executable`` (the venv's), else on ``PATH``."""
    # Not resolved: the venv's python is a symlink to the base interpreter, and the
    # entry-point scripts live beside the symlink, not beside its target.
    beside = Path(sys.executable).parent / "ansible-playbook"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("ansible-playbook")
    if found:
        return Path(found)
    raise RunSetupError(
        f"ansible-playbook is not installed next to {sys.executable} nor on PATH; "
        "reinstall wmx with its dependencies (it requires ansible-core)"
    )


def ssh_control_dir() -> Path:
    """Where SSH keeps its multiplexing sockets for this user.

    Short on purpose: a Unix socket path must fit in 108 bytes, and a site dir or
    home directory can be deep. Per user, because a socket in a shared directory
    could be planted by another local user and then carry our SSH sessions.
    """
    return Path(f"/tmp/wmx-ssh-{os.getuid()}")


def ensure_ssh_control_dir(path: Path | None = None) -> Path:
    """Create the control socket directory (0700) and refuse one we do not own."""
    path = path or ssh_control_dir()
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise RunSetupError(
            f"{path} must be a directory owned by you with mode 0700 (it holds SSH control "
            "sockets); remove it and run again"
        )
    return path


def ansible_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Ansible settings wmx sets for every run (added to the inherited environment).

    - colour off: wmx renders its own, and the kept transcript stays plain text;
    - no ``.retry`` files next to the playbooks;
    - pipelining: one SSH round trip per task instead of several;
    - task arguments never copied into output (they are where secrets live);
    - no log file of Ansible's own, whatever an ansible.cfg or the environment says
      (``log_path``): it would get Ansible's raw text, which quotes what ``no_log`` hid
      when such a task fails (wmx.run.no_log scrubs only what wmx shows and keeps);
    - no module files kept on the hosts (``ANSIBLE_KEEP_REMOTE_FILES`` in an operator's
      environment): they hold the arguments of ``no_log`` tasks, secrets among them;
    - SSH multiplexing with a short, per-user ControlPath — unless the operator set
      ``ANSIBLE_SSH_ARGS``, which then wins (a jump host, say);
    - host key checking on unless the operator's environment says otherwise:
      ansible-runner would switch it off. A site may not turn it off
      (``ansible_host_key_checking: false`` is refused at load: wmx.site.ssh_options); a
      throwaway lab's operator sets ``ANSIBLE_HOST_KEY_CHECKING=False`` instead;
    - the YAML inventory plugin alone, whatever the operator's configuration enables:
      Ansible's ``script`` plugin runs an executable inventory (a ``#!`` line is a YAML
      comment), ``auto`` loads any plugin an inventory's ``plugin:`` names. The
      inventory wmx checked at load as data is read as data.
    """
    environ = os.environ if environ is None else environ
    env = {
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_FORCE_COLOR": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_DISPLAY_ARGS_TO_STDOUT": "False",
        "ANSIBLE_LOG_PATH": os.devnull,
        "ANSIBLE_KEEP_REMOTE_FILES": "False",
        # Debian 12 and 13 have one system python3; the discovery warning is noise.
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        # wmx.site.inventory_shape.YAML_PLUGIN, the one wmx reads the inventory with.
        "ANSIBLE_INVENTORY_ENABLED": "yaml",
    }
    if "ANSIBLE_HOST_KEY_CHECKING" not in environ:
        env["ANSIBLE_HOST_KEY_CHECKING"] = "True"
    if "ANSIBLE_SSH_ARGS" not in environ:
        env["ANSIBLE_SSH_ARGS"] = (
            f"-o ControlMaster=auto -o ControlPersist=60s -o ControlPath={ssh_control_dir()}/%C"
        )
    secret = become.password_file()
    if secret is not None:
        # The login user's sudo password (secrets.yml: sudo_password), from its 0600 file:
        # the path is no secret, the password never reaches an argv or the run's files.
        env["ANSIBLE_BECOME_PASSWORD_FILE"] = str(secret)
    return env
