"""What a run is given before Ansible starts: its environment, executable and secret files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from wmx.run import RunSetupError, SecretFileError, ansible_env, ansible_playbook_executable
from wmx.run.environment import ensure_ssh_control_dir, ssh_control_dir
from wmx.run.secret_files import secret_file_vars


def test_ansible_playbook_is_the_one_beside_this_python() -> None:
    assert ansible_playbook_executable() == Path(sys.executable).parent / "ansible-playbook"


def test_ansible_env_defaults() -> None:
    env = ansible_env({})
    assert env["ANSIBLE_NOCOLOR"] == "True"
    assert env["ANSIBLE_FORCE_COLOR"] == "False"
    assert env["ANSIBLE_RETRY_FILES_ENABLED"] == "False"
    assert env["ANSIBLE_PIPELINING"] == "True"
    assert env["ANSIBLE_DISPLAY_ARGS_TO_STDOUT"] == "False"
    # ansible-runner would turn host key checking off; wmx leaves it to the inventory.
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    ssh_args = env["ANSIBLE_SSH_ARGS"]
    assert "ControlMaster=auto" in ssh_args
    assert "ControlPersist=" in ssh_args
    control_path = ssh_args.split("ControlPath=")[1]
    assert control_path.startswith("/tmp/")
    # A Unix socket path must fit in 108 bytes; %C expands to 40 hex digits.
    assert len(control_path.replace("%C", "x" * 40)) < 100


def test_operator_environment_wins_for_ssh_and_host_keys() -> None:
    env = ansible_env({"ANSIBLE_SSH_ARGS": "-J bastion", "ANSIBLE_HOST_KEY_CHECKING": "False"})
    assert "ANSIBLE_SSH_ARGS" not in env
    assert "ANSIBLE_HOST_KEY_CHECKING" not in env


def test_ssh_control_dir_is_private(tmp_path: Path) -> None:
    path = ensure_ssh_control_dir(tmp_path / "cp")
    assert path.stat().st_mode & 0o777 == 0o700
    assert ensure_ssh_control_dir(path) == path  # idempotent
    assert ssh_control_dir().name.startswith("wmx-ssh-")


def test_shared_ssh_control_dir_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "cp"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(RunSetupError, match="mode 0700"):
        ensure_ssh_control_dir(shared)


def test_secret_files_become_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets.yml"
    secrets.write_text("postgres_password: x\n")
    secrets.chmod(0o600)
    monkeypatch.chdir(tmp_path)

    assert secret_file_vars({"wmx_secrets_file": Path("secrets.yml")}, {}) == {
        "wmx_secrets_file": secrets.resolve()
    }


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("missing", "does not exist"),
        ("readable", "chmod 600"),
        ("directory", "not a regular file"),
    ],
)
def test_unsafe_secret_files_are_refused(tmp_path: Path, setup: str, error: str) -> None:
    path = tmp_path / "secrets.yml"
    if setup == "readable":
        path.write_text("x: y\n")
        path.chmod(0o644)
    elif setup == "directory":
        path.mkdir()
    with pytest.raises(SecretFileError, match=error):
        secret_file_vars({"wmx_secrets_file": path}, {})


def test_secret_file_variable_must_not_clash_with_extravars(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.write_text("x")
    path.chmod(0o600)
    with pytest.raises(SecretFileError, match="both"):
        secret_file_vars({"site_secrets": path}, {"site_secrets": "inline"})
    with pytest.raises(SecretFileError, match="variable name"):
        secret_file_vars({"not a name": path}, {})
