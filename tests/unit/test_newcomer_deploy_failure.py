"""A failed `wmx deploy` ends with one line that says which host, why, and what to do:
an unreachable host with its address and the SSH login to try (the placeholder address
of `wmx init` named as such), a refused login, a changed host key, a login that is not
root without `ansible_become`, a sudo that asks for a password. It said "deploy failed"."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from wmx.ops.deploy_present import why_failed
from wmx.run.results import RunResult, TaskFailure
from wmx.site import Site
from wmx.site.topology import HostView, Topology


def _result(*failures: TaskFailure) -> RunResult:
    return RunResult(
        ok=False,
        rc=4 if failures and failures[0].unreachable else 2,
        status="failed",
        stats={},
        changed_total=0,
        failures=list(failures),
        changed_tasks=[],
        artifact_dir=Path("/r/artifacts"),
        run_dir=Path("/r"),
    )


def _with_host(site: Site, address: str, **variables: object) -> Site:
    host = HostView(name="hs1", address=address, groups=("homeserver",), vars=dict(variables))
    return dataclasses.replace(site, topology=Topology(hosts=(host,)))


def _unreachable(message: str) -> TaskFailure:
    return TaskFailure("hs1", "Gathering Facts", message, unreachable=True)


@pytest.mark.parametrize(
    ("message", "advice"),
    [
        (
            "Failed to connect to the host via ssh: ssh: connect to host "
            "10.213.0.11 port 22: Connection timed out",
            "check ansible_host in inventory.yml, that the server is up and that SSH is "
            "open to this machine: `ssh 10.213.0.11` must log in",
        ),
        (
            "Failed to connect to the host via ssh: root@10.213.0.11: Permission denied "
            "(publickey).",
            "ssh refused the login: check ansible_user and the key",
        ),
        (
            "Failed to connect to the host via ssh: Host key verification failed.",
            "`ssh-keygen -R 10.213.0.11`",
        ),
    ],
)
def test_an_unreachable_host_is_named_with_its_cause_and_the_fix(
    one_host: Site, message: str, advice: str
) -> None:
    line = why_failed(one_host, _result(_unreachable(message)))
    assert line.startswith("deploy failed: hs1 (10.213.0.11) cannot be reached over SSH: ")
    assert "Failed to connect" not in line
    assert advice in line
    assert "\n" not in line


def test_the_placeholder_address_of_wmx_init_is_named(one_host: Site) -> None:
    site = _with_host(one_host, "203.0.113.10")
    line = why_failed(site, _result(_unreachable("ssh: connect to host: No route to host")))
    assert "203.0.113.10 is a documentation address (wmx init's placeholder)" in line


def test_the_login_to_try_has_the_inventory_s_user_and_port(one_host: Site) -> None:
    site = _with_host(one_host, "10.0.0.5", ansible_user="debian", ansible_port=2222)
    line = why_failed(site, _result(_unreachable("Connection timed out")))
    assert "`ssh -p 2222 debian@10.0.0.5` must log in" in line


def test_a_login_that_is_not_root_without_become_is_told_to_become(one_host: Site) -> None:
    site = _with_host(one_host, "10.0.0.5", ansible_user="debian")
    failure = TaskFailure("hs1", "base : packages", "E: Could not open lock file - open "
                          "(13: Permission denied)")  # fmt: skip
    line = why_failed(site, _result(failure))
    assert line.startswith("deploy failed: 1 task failed on hs1 (first: hs1: base : packages)")
    assert "hs1 logs in as debian, not root: set `ansible_become: true`" in line
    assert line.endswith("the run's record: /r")
    with_become = _with_host(one_host, "10.0.0.5", ansible_user="debian", ansible_become=True)
    assert "ansible_become" not in why_failed(with_become, _result(failure))


def test_a_sudo_that_asks_for_a_password_points_at_the_command(one_host: Site) -> None:
    site = _with_host(one_host, "10.0.0.5", ansible_user="debian", ansible_become=True)
    failure = TaskFailure("hs1", "Gathering Facts", "Missing sudo password")
    assert "`wmx secrets sudo-password`" in why_failed(site, _result(failure))


def test_other_failures_name_hosts_first_task_and_the_record(one_host: Site) -> None:
    failures = [TaskFailure("hs1", "synapse : start", "boom"), TaskFailure("hs1", "b", "x")]
    line = why_failed(one_host, _result(*failures))
    assert line == (
        "deploy failed: 2 tasks failed on hs1 (first: hs1: synapse : start); the run's record: /r"
    )
    assert why_failed(one_host, _result()) == (
        "deploy failed (ansible-playbook rc 2); its record: /r"
    )


def test_a_missing_ssh_key_file_is_named(one_host: Site, tmp_path: Path) -> None:
    missing = tmp_path / "id_ed25519"
    site = _with_host(one_host, "10.0.0.5", ansible_ssh_private_key_file=str(missing))
    line = why_failed(site, _result(_unreachable("Connection timed out")))
    assert f"its SSH key {missing} (ansible_ssh_private_key_file) is not on this machine" in line
    missing.write_text("key\n")
    assert "is not on this machine" not in why_failed(site, _result(_unreachable("x")))
