"""A file wmx manages, edited by hand on its host, is put back by a plain `wmx deploy`:
the component it belongs to converges again although its rendering is unchanged
(wmx.ops.drift; hashes read with wmx.ssh.sums). Hosts are answered by real `sha256sum`
runs on this machine over files standing in for the host's."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from wmx.ops.deploy_plan import PlaybookDigests, plan_host, record_converged
from wmx.ops.drift import converge_drifted
from wmx.present import console
from wmx.resources import data_dir
from wmx.site.topology import HostView
from wmx.ssh.sums import host_sums

Completed = subprocess.CompletedProcess[str]


def _host(name: str = "h") -> HostView:
    return HostView(name=name, address="192.0.2.1", groups=())


def _local(host: HostView, argv: list[str]) -> Completed:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def _site(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """A build of one host whose files live under tmp_path/host (their dest), deployed and
    recorded: a second plan only verifies."""
    on_host = tmp_path / "host"
    files = {
        "synapse": on_host / "etc/matrix-synapse/homeserver.yaml",
        "nginx": on_host / "etc/nginx/sites-enabled/wmx",
    }
    manifest = []
    for role, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{role} as rendered\n")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest.append(_entry(role, str(path), digest))
    roles = [
        {"role": "synapse", "action": "converge"},
        {"role": "nginx", "action": "converge"},
    ]
    state = tmp_path / "build" / "h" / ".wmx"
    state.mkdir(parents=True)
    (state / "vars.json").write_text(json.dumps({"wmx_roles": roles, "synapse_version": "1"}))
    (state / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path, files


def _entry(component: str, dest: str, sha: str) -> dict[str, Any]:
    return {"component": component, "src": dest.lstrip("/"), "dest": dest, "sha256": sha}


@pytest.fixture
def digests() -> PlaybookDigests:
    return PlaybookDigests(data_dir("playbooks"))


def _plan(root: Path, digests: PlaybookDigests) -> Any:
    return plan_host("h", root / "build" / "h", root / "deployed" / "h", digests)


def _recorded(root: Path, digests: PlaybookDigests) -> Any:
    record_converged(root / "deployed" / "h", _plan(root, digests))
    plan = _plan(root, digests)
    assert plan.actions == {"synapse:converge": "verify", "nginx:converge": "verify"}
    return plan


def test_an_edited_file_converges_its_component_again(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    root, files = _site(tmp_path)
    plan = _recorded(root, digests)
    files["synapse"].write_text("synapse as rendered\nenable_registration: true\n")
    converge_drifted([_host()], {"h": plan}, _local)
    assert plan.actions == {"synapse:converge": "converge", "nginx:converge": "verify"}
    assert plan.drifted == {"synapse": [str(files["synapse"])]}


def test_a_removed_file_converges_its_component_again(
    tmp_path: Path, digests: PlaybookDigests
) -> None:
    root, files = _site(tmp_path)
    plan = _recorded(root, digests)
    files["nginx"].unlink()
    converge_drifted([_host()], {"h": plan}, _local)
    assert plan.actions == {"synapse:converge": "verify", "nginx:converge": "converge"}
    assert plan.drifted == {"nginx": [str(files["nginx"])]}


def test_files_as_deployed_leave_the_plan_alone(tmp_path: Path, digests: PlaybookDigests) -> None:
    root, _ = _site(tmp_path)
    plan = _recorded(root, digests)
    converge_drifted([_host()], {"h": plan}, _local)
    assert plan.actions == {"synapse:converge": "verify", "nginx:converge": "verify"}
    assert plan.drifted == {}


@pytest.mark.parametrize(
    ("returncode", "stderr"),
    [
        (255, "ssh: connect to host 192.0.2.1 port 22: Connection timed out\n"),
        (1, "sudo: a password is required\n"),
    ],
    ids=["unreached", "sudo-refused"],
)
def test_a_host_that_cannot_be_asked_is_left_to_the_run(
    tmp_path: Path, digests: PlaybookDigests, returncode: int, stderr: str
) -> None:
    root, _ = _site(tmp_path)
    plan = _recorded(root, digests)

    def refused(host: HostView, argv: list[str]) -> Completed:
        return subprocess.CompletedProcess(argv, returncode, "", stderr)

    assert host_sums(_host(), ["/etc/x"], refused) is None
    converge_drifted([_host()], {"h": plan}, refused)
    assert plan.actions == {"synapse:converge": "verify", "nginx:converge": "verify"}


def test_nothing_verified_asks_no_host(tmp_path: Path, digests: PlaybookDigests) -> None:
    root, _ = _site(tmp_path)
    plan = _plan(root, digests)  # a first deploy: everything converges

    def never(host: HostView, argv: list[str]) -> Completed:
        raise AssertionError("a host was asked")

    converge_drifted([_host()], {"h": plan}, never)
    assert plan.drifted == {}


def test_the_deploy_plan_names_what_was_edited(tmp_path: Path) -> None:
    """`wmx deploy` shows, under the host's line, the component that converges again and
    the files edited on the host."""
    from wmx.ops import deploy_present
    from wmx.ops.deploy_plan import HostPlan

    plan = HostPlan("h", [], {}, {}, {}, [])
    plan.drifted = {"synapse": [f"/etc/f{i}" for i in range(5)]}

    deployment = SimpleNamespace(
        hosts=["h"], pending=[], vars_changed=[], first_hosts=[], plans={"h": plan}
    )
    with console.capture() as captured:
        deploy_present.show_plan(deployment)  # type: ignore[arg-type]
    text = captured.get()
    assert "synapse converges again: edited or removed on the host" in text
    assert "/etc/f0, /etc/f1, /etc/f2 and 2 more" in text


def test_the_plan_removes_only_what_an_earlier_deploy_converged() -> None:
    """A first deploy's remove steps for the components a site has off only make sure
    they are absent: the plan does not say it removes what was never there."""
    from wmx.components import Step
    from wmx.ops import deploy_present
    from wmx.ops.deploy_plan import HostPlan

    steps = [Step("redis", "remove"), Step("coturn", "remove"), Step("synapse")]
    actions = {"redis:remove": "remove", "coturn:remove": "remove", "synapse:converge": "converge"}
    plan = HostPlan("h", steps, actions, {}, {}, [], recorded={"coturn:converge": "d1"})
    deployment = SimpleNamespace(
        hosts=["h"], pending=[], vars_changed=[], first_hosts=[], plans={"h": plan}
    )
    with console.capture() as captured:
        deploy_present.show_plan(deployment)  # type: ignore[arg-type]
    assert "h: converge synapse; remove coturn; make sure redis absent (off)" in captured.get()
