"""The packages a host's deploy installs before its walk (docs/contracts.md, "Packages")."""

from __future__ import annotations

from pathlib import Path

import yaml

from wmx.ops.deploy import plan_deploy
from wmx.ops.deploy_packages import (
    covered_roles,
    host_transactions,
    later_waves,
    role_packages,
    venv_roles,
    wait_roles,
)
from wmx.ops.deploy_plan import HostPlan, known_components, packages_wait_slots, play_vars
from wmx.resources import data_dir
from wmx.site import load_site

PLAYBOOKS = data_dir("playbooks")


def _role(playbooks: Path, name: str, defaults: dict[str, object], venv: bool = False) -> None:
    tasks = playbooks / "roles" / name / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "converge.yml").write_text("---\n[]\n")
    if venv:
        (tasks / "venv.yml").write_text("---\n[]\n")
    (playbooks / "roles" / name / "defaults").mkdir()
    (playbooks / "roles" / name / "defaults" / "main.yml").write_text(yaml.safe_dump(defaults))


def test_one_transaction_per_policy_venv_roles_first_and_no_package_twice(
    tmp_path: Path,
) -> None:
    _role(tmp_path, "web", {"web_packages": ["nginx", "gcc"]})
    _role(
        tmp_path,
        "metrics",
        {"metrics_packages": ["prometheus"], "metrics_install_recommends": False},
    )
    _role(tmp_path, "app", {"app_packages": ["gcc", "python3-venv"]}, venv=True)
    _role(
        tmp_path,
        "jobs",
        {"jobs_packages": {"a": "pkg-a", "b": "pkg-b"}, "jobs_install_recommends": False},
    )
    _role(tmp_path, "templated", {"templated_packages": ["{{ 'x' if y else 'z' }}", "plain"]})
    _role(tmp_path, "bare", {})
    roles = ["web", "metrics", "app", "jobs", "templated", "bare"]
    transactions = host_transactions(tmp_path, roles, {"jobs_jobs": ["b"]})
    assert transactions == [
        {"names": ["gcc", "python3-venv"], "recommends": True, "venvs": True, "later": False},
        {"names": ["nginx", "plain"], "recommends": True, "venvs": False, "later": False},
        {"names": ["prometheus", "pkg-b"], "recommends": False, "venvs": False, "later": False},
    ]
    assert venv_roles(tmp_path, roles) == ["app"]
    assert host_transactions(tmp_path, [], {}) == []

    # The roles after the last venv role's converge get the later transactions, which
    # apt installs one after the other while the walk runs; a package an earlier group
    # has stays there.
    assert later_waves(tmp_path, roles) == [["jobs", "templated", "bare"]]
    later = host_transactions(tmp_path, roles, {"jobs_jobs": ["b"]}, [["jobs", "templated"]])
    assert later == [
        {"names": ["gcc", "python3-venv"], "recommends": True, "venvs": True, "later": False},
        {"names": ["nginx"], "recommends": True, "venvs": False, "later": False},
        {"names": ["prometheus"], "recommends": False, "venvs": False, "later": False},
        {"names": ["plain"], "recommends": True, "venvs": False, "later": True},
        {"names": ["pkg-b"], "recommends": False, "venvs": False, "later": True},
    ]
    # Steps wait for them: those of a role with a later package, and of a role whose
    # own apt task runs (a templated name), which must not run apt beside them.
    assert wait_roles(tmp_path, later, roles, {"jobs_jobs": ["b"]}) == {
        "jobs": ["pkg-b"],
        "templated": None,
    }
    assert wait_roles(tmp_path, transactions, roles, {"jobs_jobs": ["b"]}) == {}
    # Without a venv role, everything is installed before the walk.
    assert later_waves(tmp_path, ["web", "metrics", "jobs"]) == []


def test_every_role_declares_its_packages_as_the_contract_says() -> None:
    # Every role that installs packages with its own apt task declares them in
    # defaults as <role>_packages, and a role installing without recommends says so
    # in <role>_install_recommends (which its own task uses): the host's transaction
    # then installs exactly what the roles would have.
    for role in known_components():
        tasks = (PLAYBOOKS / "roles" / role / "tasks" / "converge.yml").read_text()
        if "ansible.builtin.apt:" not in tasks:
            continue
        defaults = yaml.safe_load(
            (PLAYBOOKS / "roles" / role / "defaults" / "main.yml").read_text()
        )
        assert f"{role}_packages" in defaults, role
        literal = "install_recommends: false" in tasks
        assert not literal, f"{role}: use {role}_install_recommends in defaults"
        if f"{role}_install_recommends" in defaults:
            assert f"{{{{ {role}_install_recommends }}}}" in tasks, role


def test_venv_roles_wait_for_their_build_before_their_own_pip_task() -> None:
    for role in venv_roles(PLAYBOOKS, known_components()):
        tasks = (PLAYBOOKS / "roles" / role / "tasks" / "converge.yml").read_text()
        venv = (PLAYBOOKS / "roles" / role / "tasks" / "venv.yml").read_text()
        assert f"register: {role}_venv_build" in venv and "poll: 0" in venv, role
        wait = tasks.index(f"{role}_venv_build.ansible_job_id")
        assert wait < tasks.index("ansible.builtin.pip:"), role
    assert set(venv_roles(PLAYBOOKS, known_components())) == {"synapse", "irc_bridge"}


def test_the_one_host_stack_installs_every_package_before_the_walk(site_dir: Path) -> None:
    deployment = plan_deploy(load_site(site_dir))
    (plan,) = deployment.plans.values()
    variables = play_vars(plan, deployment.order)
    transactions = variables["wmx_packages"]
    names = [name for t in transactions for name in t["names"]]
    assert len(names) == len(set(names))
    for role in plan.roles_doing("converge"):
        assert set(role_packages(PLAYBOOKS, role, plan.role_vars)) <= set(names), role
    assert transactions[0]["venvs"] and "python3-venv" in transactions[0]["names"]
    assert "prometheus" in next(t["names"] for t in transactions if not t["recommends"])
    assert sorted(variables["wmx_venv_roles"]) == ["irc_bridge", "synapse"]
    # Every converging role's packages are plain names here: each role's own apt task
    # is skipped (its `when` names the role in wmx_packages_done).
    assert variables["wmx_packages_done"] == [
        role
        for role in plan.roles_doing("converge")
        if role_packages(PLAYBOOKS, role, plan.role_vars)
    ]
    assert {"base", "postgresql", "synapse", "nginx", "irc_bridge"} <= set(
        variables["wmx_packages_done"]
    )
    # The firewall's, PostgreSQL's and the venv roles' packages come before the walk;
    # apt installs nginx's and the others' in the background while it runs, and the walk
    # waits for each transaction before the first step that needs one of its packages.
    early = {name for t in transactions if not t["later"] for name in t["names"]}
    later = {name for t in transactions if t["later"] for name in t["names"]}
    assert {"nftables", "postgresql", "python3-venv"} <= early
    assert {"nginx", "certbot", "prometheus", "borgbackup"} <= later
    slots = variables["wmx_plan"]
    due = [slots[i] for i in variables["wmx_packages_wait_slots"]]
    # nginx's (with recommends) first, the exporters' and Prometheus' (without) next.
    assert due == [
        {"role": "nginx", "action": "converge"},
        {"role": "exporters", "action": "converge"},
    ]
    first = variables["wmx_packages_wait_slots"][0]
    assert {"synapse", "postgresql", "element"} <= {s["role"] for s in slots[:first] if s}


def test_a_later_transaction_is_due_no_later_than_the_next(tmp_path: Path) -> None:
    # apt installs the later transactions one after the other: one needed only late is
    # due when the next one is, and a role whose own apt task runs needs them all.
    slots: list[dict[str, str] | None] = [
        {"role": "app", "action": "converge"},
        None,
        {"role": "metrics", "action": "converge"},
        {"role": "web", "action": "converge"},
    ]
    plan = HostPlan("h", [], {}, {}, {}, [])
    plan.packages = [
        {"names": ["nginx"], "recommends": True, "venvs": False, "later": True},
        {"names": ["prometheus"], "recommends": False, "venvs": False, "later": True},
    ]
    plan.packages_wait = {"web": ["nginx"], "metrics": ["prometheus"]}
    assert packages_wait_slots(plan, slots) == [2, 2]
    plan.packages_wait = {"web": ["nginx"]}
    assert packages_wait_slots(plan, slots) == [3, 4]
    plan.packages_wait = {"web": ["nginx"], "app": None}
    assert packages_wait_slots(plan, slots) == [0, 0]
    plan.packages = []
    assert packages_wait_slots(plan, slots) == []

    # A host whose components are all only verified installs nothing up front.
    plan.actions = {k: "verify" for k in plan.actions if k.endswith(":converge")}
    assert host_transactions(PLAYBOOKS, plan.roles_doing("converge"), plan.role_vars) == []


def test_a_role_with_a_templated_package_keeps_its_own_apt_task(tmp_path: Path) -> None:
    _role(tmp_path, "web", {"web_packages": ["nginx"]})
    _role(tmp_path, "db", {"db_packages": ["postgresql-{{ version }}", "libpq5"]})
    _role(tmp_path, "jobs", {"jobs_packages": {"a": "pkg-a", "b": "pkg-b"}})
    _role(tmp_path, "none", {})
    roles = ["web", "db", "jobs", "none"]
    assert covered_roles(tmp_path, roles, {"jobs_jobs": ["a"]}) == ["web", "jobs"]


def test_each_role_skips_its_own_apt_task_only_when_the_transaction_covered_it() -> None:
    for role in known_components():
        tasks = (PLAYBOOKS / "roles" / role / "tasks" / "converge.yml").read_text()
        if "ansible.builtin.apt:" not in tasks:
            continue
        task = tasks[tasks.index("ansible.builtin.apt:") :].split("\n\n", 1)[0]
        assert f"when: \"'{role}' not in wmx_packages_done | default([])\"" in task, role
