"""Ansible runs without a log file of its own (wmx.run.environment): an ansible.cfg's or
the environment's log_path would get Ansible's raw text, which quotes what no_log hid
when such a task fails (tests/integration/test_runner.py runs it for real); and it keeps
no module files on the hosts, which hold a no_log task's arguments."""

from __future__ import annotations

import os

from wmx.run.environment import ansible_env


def test_ansible_logs_nowhere_whatever_the_operator_set() -> None:
    assert ansible_env({})["ANSIBLE_LOG_PATH"] == os.devnull
    assert ansible_env({"ANSIBLE_LOG_PATH": "/var/log/ansible.log"})["ANSIBLE_LOG_PATH"] == (
        os.devnull
    )


def test_no_module_file_with_a_no_log_tasks_arguments_is_kept_on_a_host() -> None:
    assert ansible_env({"ANSIBLE_KEEP_REMOTE_FILES": "1"})["ANSIBLE_KEEP_REMOTE_FILES"] == "False"
