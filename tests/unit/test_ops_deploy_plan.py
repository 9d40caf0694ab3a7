"""The deploy plan: what runs on each host, what is only verified, in which order."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wmx.components import Step
from wmx.errors import InputError, WmxError
from wmx.ops.deploy import plan_deploy, verify_units
from wmx.ops.deploy_plan import (
    PlaybookDigests,
    check_only,
    files_by_role,
    known_components,
    plan_host,
    play_vars,
    read_installed,
    record_converged,
    shared_order,
    vars_by_role,
)
from wmx.resources import data_dir
from wmx.site import load_site

ROLES = [
    {"role": "base", "action": "converge"},
    {"role": "postgresql", "action": "converge"},
    {"role": "irc_bridge", "action": "converge"},
    {"role": "synapse", "action": "converge"},
    {"role": "irc_bridge", "action": "start"},
    {"role": "turn", "action": "remove"},
    {"role": "backup", "action": "converge"},
    {"role": "backup", "action": "repositories"},
]


def _entry(component: str, dest: str, sha: str = "0" * 64) -> dict[str, Any]:
    return {
        "component": component,
        "src": dest.lstrip("/"),
        "dest": dest,
        "mode": "0644",
        "owner": "root",
        "group": "root",
        "secret": False,
        "sha256": sha,
    }


def _build(root: Path, host: str, **overrides: Any) -> Path:
    variables = {
        "wmx_roles": ROLES,
        "wmx_components": ["base", "postgresql", "synapse", "irc_bridge", "backup"],
        "synapse_version": "1.120.0",
        "backup_schedule": "daily",
        "backup_repo_user": "borg",
        "acme_email": "a@example.org",
        **overrides,
    }
    manifest = [
        _entry("base", "/etc/nftables.conf"),
        _entry("synapse", "/etc/matrix-synapse/homeserver.yaml"),
        _entry("synapse", "/etc/matrix-synapse/appservices/heisenbridge.yaml"),
        _entry("irc_bridge", "/etc/heisenbridge/registration.yaml"),
        _entry("backup", "/etc/wmx/backup.json"),
    ]
    state = root / host / ".wmx"
    state.mkdir(parents=True, exist_ok=True)
    (state / "vars.json").write_text(json.dumps(variables))
    (state / "manifest.json").write_text(json.dumps(manifest))
    return root / host


@pytest.fixture
def digests() -> PlaybookDigests:
    return PlaybookDigests(data_dir("playbooks"))


def _deploy_and_record(tmp_path: Path, digests: PlaybookDigests, **options: Any) -> Any:
    plan = plan_host("h", tmp_path / "build" / "h", tmp_path / "deployed" / "h", digests, **options)
    record_converged(tmp_path / "deployed" / "h", plan)
    return plan


def test_a_first_deploy_runs_every_step_as_planned(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    _build(tmp_path / "build", "h")
    plan = plan_host("h", tmp_path / "build" / "h", tmp_path / "deployed" / "h", digests)
    assert [plan.actions.get(s.key) for s in plan.steps] == [r["action"] for r in ROLES]


def test_nothing_changed_verifies_and_leaves_out_followers_and_done_removals(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    _build(tmp_path / "build", "h")
    _deploy_and_record(tmp_path, digests)
    again = plan_host("h", tmp_path / "build" / "h", tmp_path / "deployed" / "h", digests)
    assert again.actions == {
        "base:converge": "verify",
        "postgresql:converge": "verify",
        "irc_bridge:converge": "verify",
        "synapse:converge": "verify",
        "backup:converge": "verify",
    }
    # A verify-only run keeps the record as it was: the next one verifies again.
    record_converged(tmp_path / "deployed" / "h", again)
    third = plan_host("h", tmp_path / "build" / "h", tmp_path / "deployed" / "h", digests)
    assert third.actions == again.actions


def test_a_version_bump_converges_that_component_only(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    _build(tmp_path / "build", "h")
    _deploy_and_record(tmp_path, digests)
    _build(tmp_path / "build", "h", synapse_version="1.121.0")
    plan = plan_host("h", tmp_path / "build" / "h", tmp_path / "deployed" / "h", digests)
    assert plan.roles_doing("converge") == ["synapse"]


def test_a_changed_registration_converges_synapse_and_the_bridge(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    build = _build(tmp_path / "build", "h")
    _deploy_and_record(tmp_path, digests)
    manifest = json.loads((build / ".wmx" / "manifest.json").read_text())
    for entry in manifest:
        if "heisenbridge" in entry["dest"]:
            entry["sha256"] = "1" * 64
    (build / ".wmx" / "manifest.json").write_text(json.dumps(manifest))
    plan = plan_host("h", build, tmp_path / "deployed" / "h", digests)
    assert plan.roles_doing("converge") == ["irc_bridge", "synapse"]
    assert plan.actions["irc_bridge:start"] == "start"


def test_a_shared_var_converges_everything(tmp_path: Path, digests: PlaybookDigests) -> None:
    _build(tmp_path / "build", "h")
    _deploy_and_record(tmp_path, digests)
    _build(tmp_path / "build", "h", acme_email="b@example.org")
    plan = plan_host("h", tmp_path / "build" / "h", tmp_path / "deployed" / "h", digests)
    assert plan.roles_doing("verify") == []


def test_full_and_only(tmp_path: Path, digests: PlaybookDigests) -> None:
    _build(tmp_path / "build", "h")
    _deploy_and_record(tmp_path, digests)
    build, deployed = tmp_path / "build" / "h", tmp_path / "deployed" / "h"
    full = plan_host("h", build, deployed, digests, full=True)
    assert [full.actions.get(s.key) for s in full.steps] == [r["action"] for r in ROLES]
    only = plan_host("h", build, deployed, digests, only=["irc_bridge"])
    assert only.actions == {"irc_bridge:converge": "converge", "irc_bridge:start": "start"}


def test_a_step_left_out_by_only_keeps_its_old_digest(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    _build(tmp_path / "build", "h")
    _deploy_and_record(tmp_path, digests)
    _build(tmp_path / "build", "h", synapse_version="1.121.0")
    _deploy_and_record(tmp_path, digests, only=["backup"])
    plan = plan_host("h", tmp_path / "build" / "h", tmp_path / "deployed" / "h", digests)
    assert plan.roles_doing("converge") == ["synapse"]


def test_a_component_removed_then_added_again_converges(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    _build(tmp_path / "build", "h")
    _deploy_and_record(tmp_path, digests)
    without = [r for r in ROLES if r["role"] != "backup"] + [{"role": "backup", "action": "remove"}]
    _build(tmp_path / "build", "h", wmx_roles=without)
    removed = _deploy_and_record(tmp_path, digests)
    assert removed.actions["backup:remove"] == "remove"
    _build(tmp_path / "build", "h")
    plan = plan_host("h", tmp_path / "build" / "h", tmp_path / "deployed" / "h", digests)
    assert plan.roles_doing("converge") == ["backup"]


def test_files_and_vars_belong_to_one_role() -> None:
    manifest = [
        _entry("synapse", "/etc/matrix-synapse/appservices/heisenbridge.yaml"),
        _entry("irc_bridge", "/etc/heisenbridge/registration.yaml"),
    ]
    files = files_by_role(manifest, {"synapse", "irc_bridge"})
    assert [e["dest"] for e in files["synapse"]] == [
        "/etc/matrix-synapse/appservices/heisenbridge.yaml"
    ]
    assert [e["dest"] for e in files["irc_bridge"]] == ["/etc/heisenbridge/registration.yaml"]
    owned = vars_by_role(
        {"backup_x": 1, "backup_repo_y": 2, "acme_email": "e", "wmx_roles": []},
        ["backup", "backup_repo"],
    )
    assert owned == {
        "": {"acme_email": "e"},
        "backup": {"backup_x": 1},
        "backup_repo": {"backup_repo_y": 2},
    }


def test_one_order_for_every_host_keeps_each_hosts_order() -> None:
    class Plan:
        def __init__(self, host: str, keys: list[str]) -> None:
            self.host = host
            self.steps = [Step(*k.split(":")) for k in keys]

    database = Plan("db", ["base:converge", "postgresql:converge", "exporters:converge"])
    homeserver = Plan("hs", ["base:converge", "synapse:converge", "exporters:converge"])
    order = [s.key for s in shared_order([homeserver, database])]  # type: ignore[list-item]
    assert order.index("postgresql:converge") < order.index("exporters:converge")
    assert order.index("synapse:converge") < order.index("exporters:converge")
    assert order[0] == "base:converge"
    crossed = Plan("x", ["exporters:converge", "base:converge"])
    with pytest.raises(WmxError, match="disagree"):
        shared_order([homeserver, crossed])  # type: ignore[list-item]


def test_one_order_keeps_the_order_between_hosts() -> None:
    # The homeserver host's backup job makes its SSH key, the repository host authorizes
    # it, then the job creates its repositories there: three steps on two hosts. Merging
    # the hosts' lists alone put the repository host's step first (the key did not exist
    # yet) and the repositories failed with "Connection closed by remote host".
    class Plan:
        def __init__(self, host: str, keys: list[str]) -> None:
            self.host = host
            self.steps = [Step(*k.split(":")) for k in keys]

    job = Plan("lab4", ["base:converge", "synapse:converge", "backup:converge",
                        "backup:repositories"])  # fmt: skip
    repository = Plan("lab5", ["base:converge", "monitoring:remove", "backup_repo:converge"])
    for plans in ([job, repository], [repository, job]):
        order = [s.key for s in shared_order(plans)]  # type: ignore[arg-type]
        assert (
            order.index("backup:converge")
            < order.index("backup_repo:converge")
            < order.index("backup:repositories")
        ), order


def test_play_vars_align_each_host_on_the_shared_order(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    _build(tmp_path / "build", "h")
    plan = plan_host("h", tmp_path / "build" / "h", tmp_path / "deployed" / "h", digests)
    order = [Step("nginx", "converge"), *plan.steps]
    variables = play_vars(plan, order)
    assert variables["wmx_plan"][0] is None
    assert variables["wmx_plan"][1] == {"role": "base", "action": "converge"}
    assert variables["synapse_version"] == "1.120.0"
    assert "wmx_files" in variables


def test_only_names_known_components() -> None:
    assert "synapse" in known_components() and "rendered_files" not in known_components()
    assert check_only(["synapse", "synapse"]) == ["synapse"]
    with pytest.raises(InputError, match="--only synaps: unknown component; known: backup"):
        check_only(["synaps"])


def test_a_build_without_a_plan_is_a_clear_error(tmp_path: Path, digests: PlaybookDigests) -> None:
    build = _build(tmp_path / "build", "h", wmx_roles=None)
    with pytest.raises(WmxError, match="no wmx_roles"):
        plan_host("h", build, tmp_path / "deployed" / "h", digests)


def test_a_missing_build_is_a_clear_error(tmp_path: Path, digests: PlaybookDigests) -> None:
    with pytest.raises(WmxError, match="build/h is missing or damaged"):
        plan_host("h", tmp_path / "nope", tmp_path / "deployed", digests)


def test_wmx_diff_shows_a_version_bump_in_the_role_vars(tmp_path: Path) -> None:
    wmx = str(Path(sys.executable).with_name("wmx"))
    root = tmp_path / "site"
    run = subprocess.run(
        [wmx, "init", str(root), "--defaults", "--server-name", "example.org"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    subprocess.run([wmx, "--site", str(root), "render"], check=True, capture_output=True)
    never = subprocess.run(
        [wmx, "--site", str(root), "diff"], capture_output=True, text=True, check=True
    ).stdout
    # Before any deploy, every file is "added": said once, first.
    assert never.startswith("No deploy recorded for matrix: every file is new there.\n"), never
    deployed = root / ".wmx" / "deployed"
    shutil.copytree(root / "build", deployed)
    (host,) = (p.name for p in deployed.iterdir() if p.is_dir())
    vars_json = deployed / host / ".wmx" / "vars.json"
    old = json.loads(vars_json.read_text())
    old["synapse_version"] = "1.0.0"
    vars_json.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")

    shown = subprocess.run(
        [wmx, "--site", str(root), "diff"], capture_output=True, text=True, check=True
    ).stdout
    assert f"{host} changed: role vars (.wmx/vars.json)" in shown
    assert "No deploy recorded" not in shown
    assert '-  "synapse_version": "1.0.0"' in shown
    as_json = subprocess.run(
        [wmx, "--site", str(root), "diff", "-o", "json"], capture_output=True, text=True, check=True
    ).stdout
    (change,) = json.loads(as_json)
    assert change["kind"] == "changed" and '"synapse_version"' in change["diff"]
    # The deploy's plan said "0 file(s) differ" and converged synapse, without saying why
    # (seen on the demo site after `config set synapse.version`).
    from wmx.ops.deploy_present import show_plan
    from wmx.present import console

    deployment = plan_deploy(load_site(root), full=True)  # full: no drift check over SSH
    assert deployment.vars_changed == [host]
    with console.capture() as captured:
        show_plan(deployment)
    assert captured.get().startswith(
        "Rendered 1 host(s); 0 file(s) differ from the last deploy. The role vars of "
        f"{host} differ too (`wmx diff` shows them).\n"
    )


def test_verified_components_services_are_checked_up_front(tmp_path: Path) -> None:
    wmx = str(Path(sys.executable).with_name("wmx"))
    root = tmp_path / "site"
    subprocess.run(
        [wmx, "init", str(root), "--defaults", "--server-name", "example.org"],
        check=True,
        capture_output=True,
    )
    site = load_site(root)
    deployment = plan_deploy(site)
    (host,) = site.topology.hosts
    plan = deployment.plans[host.name]
    assert plan.verify_units == []  # a first deploy converges everything
    plan.actions = {k: "verify" for k in plan.actions if k.endswith(":converge")}
    units = verify_units(host, plan)
    assert {"nftables.service", "matrix-synapse.service", "nginx.service"} <= set(units)
    assert not [u for u in units if "*" in u]  # PostgreSQL's cluster: its own verify


def test_a_step_is_its_role_and_action_whatever_it_is_ordered_before() -> None:
    # The components declare steps with an ordering hint (`before`); the deploy reads
    # them back from vars.json without it: both must be the same step.
    declared = Step("irc_bridge", before="synapse")
    assert declared == Step("irc_bridge", "converge")
    assert {declared, Step("irc_bridge", "converge")} == {declared}
    assert declared.key == "irc_bridge:converge"
    assert declared.as_json() == {"role": "irc_bridge", "action": "converge"}


def _add_files(build: Path, *entries: dict[str, Any]) -> None:
    path = build / ".wmx" / "manifest.json"
    path.write_text(json.dumps([*json.loads(path.read_text()), *entries]))


def test_a_file_the_build_no_longer_has_is_removed_by_its_roles_next_converge(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    build, deployed = tmp_path / "build" / "h", tmp_path / "deployed" / "h"
    _build(tmp_path / "build", "h")
    _add_files(build, _entry("synapse", "/etc/matrix-synapse/database-ca.crt"))
    _add_files(build, _entry("synapse", "/etc/matrix-synapse/log.yaml"))
    first = _deploy_and_record(tmp_path, digests)
    assert play_vars(first, first.steps)["wmx_files_stale"] == {}
    # The next build drops old.yaml and gives moved.conf to the backup role; a run of
    # backup alone leaves synapse's record of what it installed as it was.
    _build(tmp_path / "build", "h")
    _add_files(build, _entry("backup", "/etc/matrix-synapse/log.yaml"))
    only = _deploy_and_record(tmp_path, digests, only=["backup"])
    assert play_vars(only, only.steps)["wmx_files_stale"] == {}
    plan = plan_host("h", build, deployed, digests)
    assert plan.roles_doing("converge") == ["synapse"]
    assert play_vars(plan, plan.steps)["wmx_files_stale"] == {
        "synapse": ["/etc/matrix-synapse/database-ca.crt"]
    }
    record_converged(deployed, plan)
    again = plan_host("h", build, deployed, digests, full=True)
    assert play_vars(again, again.steps)["wmx_files_stale"] == {}


def test_a_recorded_path_that_is_not_absolute_and_normalised_is_never_sent(
    tmp_path: Path,
) -> None:
    deployed = tmp_path / "deployed" / "h"
    (deployed / ".wmx").mkdir(parents=True)
    ok = "/etc/nftables.conf"
    paths = [ok, "etc/nftables.conf", "/etc/../etc/nftables.conf", "/etc//nftables.conf", 7]
    record = {"files": {"base": paths, "nginx": "not a list"}}
    (deployed / ".wmx" / "converged.json").write_text(json.dumps(record))
    assert read_installed(deployed) == {"base": [ok]}


def test_a_recorded_path_the_role_never_installs_is_never_sent(tmp_path: Path) -> None:
    """converged.json is a file in the site: a hand-edited one naming /etc/passwd, or
    another role's file, or a role wmx does not have, removes nothing on the host."""
    deployed = tmp_path / "deployed" / "h"
    (deployed / ".wmx").mkdir(parents=True)
    agent = "/usr/local/lib/wmx-agent/wmx_agent/gone_in_a_later_wmx.py"
    record = {
        "files": {
            "base": ["/etc/passwd", "/etc/nftables.conf", "/etc/matrix-synapse/log.yaml"],
            "backup": [agent, "/usr/local/lib/wmx-agent/other/x.py", "/root/.ssh/id_rsa"],
            "..": ["/etc/shadow"],
            "nope": ["/etc/nftables.conf"],
        }
    }
    (deployed / ".wmx" / "converged.json").write_text(json.dumps(record))
    assert read_installed(deployed) == {
        "base": ["/etc/nftables.conf"],
        "backup": [agent],
        "..": [],
        "nope": [],
    }


def test_a_diffs_long_line_is_shown_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rich cropped a diff's lines at the width (80 columns into a pipe, the window's on
    a terminal): the end of a long changed line, often the change itself, was not shown."""
    from wmx.ops.deploy_present import show_changes
    from wmx.present import console
    from wmx.render import FileChange

    line = "+    server_name " + " ".join(f"name{n}.example.org" for n in range(8)) + ";"
    change = FileChange("hs1", "/etc/nginx/sites-available/wmx-tls.conf", "changed", line)
    show_changes([change])
    assert line in capsys.readouterr().out.splitlines()
    monkeypatch.setattr(console, "_force_terminal", True)
    monkeypatch.setattr(console, "_width", 60)
    with console.capture() as shown:
        show_changes([change])
    assert "".join(shown.get().splitlines()[1:]).endswith("name7.example.org;")


def test_a_change_left_out_by_only_is_named_in_the_plan(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    """`wmx deploy --only synapse` after `config set synapse.registration token` left
    Element's changed config.json undeployed without a word (seen on the demo site; the
    plan said "2 file(s) differ" and "converge synapse"): the roles left out are named."""
    from types import SimpleNamespace

    from wmx.ops.deploy_present import show_plan
    from wmx.present import console

    _build(tmp_path / "build", "h")
    _deploy_and_record(tmp_path, digests)
    _build(tmp_path / "build", "h", synapse_version="1.121.0", backup_schedule="hourly")
    build, deployed = tmp_path / "build" / "h", tmp_path / "deployed" / "h"
    only = plan_host("h", build, deployed, digests, only=["backup"])
    assert only.changed_left_out() == ["synapse"]
    assert plan_host("h", build, deployed, digests).changed_left_out() == []
    assert (
        plan_host("h", build, deployed, digests, only=["synapse", "backup"]).changed_left_out()
        == []
    )
    deployment = SimpleNamespace(
        hosts=["h"], pending=[], vars_changed=[], first_hosts=[], plans={"h": only}
    )
    with console.capture() as captured:
        show_plan(deployment)  # type: ignore[arg-type]
    assert (
        "    changed since the last deploy but not in this run (--only): synapse; a plain "
        "`wmx deploy` applies them"
    ) in captured.get()
