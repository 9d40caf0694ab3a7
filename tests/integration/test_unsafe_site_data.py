"""Site data reaches Ansible only as text that is never templated (issue 10, item 1).

A real site is rendered, then every string of its role vars and of its file list is
replaced with a template that would create a file if Ansible ever evaluated it. Real
playbook runs on localhost then load and use those values; the file never appears.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from wmx.ops.deploy import plan_deploy
from wmx.ops.deploy_plan import play_vars
from wmx.resources import data_dir
from wmx.run import run_playbook
from wmx.site import load_site

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PLAYBOOKS = Path(__file__).parent / "playbooks"
INVENTORY = PLAYBOOKS / "inventory.yml"
WMX = str(Path(sys.executable).with_name("wmx"))


def _probe(marker: Path) -> str:
    return "{{ lookup('ansible.builtin.pipe', 'touch " + str(marker) + "') }}"


def _probed(value: Any, probe: str) -> Any:
    """``value`` with every string (dict keys aside) replaced by ``probe``."""
    if isinstance(value, str):
        return probe
    if isinstance(value, list):
        return [_probed(v, probe) for v in value]
    if isinstance(value, dict):
        return {k: _probed(v, probe) for k, v in value.items()}
    return value


def _site_vars(tmp_path: Path, probe: str) -> dict[str, Any]:
    """A real site's variables for its one host, every string a probe."""
    root = tmp_path / "site"
    subprocess.run(
        [WMX, "init", str(root), "--defaults", "--server-name", "example.org"],
        check=True,
        capture_output=True,
    )
    deployment = plan_deploy(load_site(root))
    (plan,) = deployment.plans.values()
    variables = play_vars(plan, deployment.order)
    probed = {name: _probed(value, probe) for name, value in variables.items()}
    strings = [n for n, v in variables.items() if isinstance(v, str)]
    assert len(strings) > 20, strings  # the site really has free-text values to probe
    return probed


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=False, width=160), buffer


def test_roles_use_every_value_and_none_is_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "PROBE"
    probe = _probe(marker)
    variables = _site_vars(tmp_path, probe)
    variables["wmx_plan"] = [None, {"role": "probe_role", "action": "converge"}]
    # Strings YAML would read as another type stay the same strings.
    variables["probe_typed"] = ["", "true", "0644", "1.10", "null", "2024-01-01"]
    names = sorted(n for n in variables if n not in {"wmx_plan"})
    out = tmp_path / "seen.json"
    console, buffer = _console()

    result = run_playbook(
        runs_dir=tmp_path / "runs",
        playbook=PLAYBOOKS / "unsafe_site_data.yml",
        inventory=INVENTORY,
        extravars={
            "wmx_build_dir": probe,
            "probe_names": names,
            "probe_out": out,
            "probe_playbooks": data_dir("playbooks"),
        },
        host_vars={"localhost": variables},
        console=console,
    )

    assert result.ok, buffer.getvalue()
    assert not marker.exists()
    seen = json.loads(out.read_text())
    assert seen["indirect"] == probe
    assert seen["build"] == probe
    assert seen["role"].startswith(probe + " ")
    assert probe in seen["role"]
    assert seen["vars"] == {name: variables[name] for name in names}


def test_the_real_site_play_loads_probed_values_without_evaluating_them(
    tmp_path: Path,
) -> None:
    """playbooks/site.yml itself: its checks and include_vars see every value. On this
    machine (no systemd as PID 1) the play stops cleanly at the host check; on a Debian
    host with systemd the empty plan makes it succeed without touching anything."""
    marker = tmp_path / "PROBE"
    probe = _probe(marker)
    variables = _site_vars(tmp_path, probe)
    variables["wmx_plan"] = []
    console, buffer = _console()

    result = run_playbook(
        runs_dir=tmp_path / "runs",
        playbook=data_dir("playbooks") / "site.yml",
        inventory=INVENTORY,
        extravars={"wmx_build_dir": tmp_path / "build"},
        host_vars={"localhost": variables},
        console=console,
    )

    assert not marker.exists()
    if not result.ok:
        assert [f.task for f in result.failures] == [
            "Check that this host runs a supported Debian release with systemd"
        ], buffer.getvalue()


def test_control_the_same_values_loaded_as_plain_json_are_evaluated(tmp_path: Path) -> None:
    """The probe is live: loaded the way vars.json used to be (plain JSON through
    include_vars, which Ansible trusts like playbook content), it runs."""
    marker = tmp_path / "PROBE"
    probe = _probe(marker)
    variables = {"synapse_version": probe, "wmx_files": {}, "wmx_plan": []}
    host_vars_dir = tmp_path / "plain"
    host_vars_dir.mkdir()
    (host_vars_dir / "localhost.yml").write_text(json.dumps(variables))
    console, buffer = _console()

    run_playbook(
        runs_dir=tmp_path / "runs",
        playbook=PLAYBOOKS / "unsafe_site_data.yml",
        inventory=INVENTORY,
        extravars={
            "wmx_build_dir": "/nonexistent",
            "wmx_host_vars_dir": host_vars_dir,
            "probe_names": ["synapse_version"],
            "probe_out": tmp_path / "seen.json",
            "probe_playbooks": data_dir("playbooks"),
        },
        console=console,
    )

    assert marker.exists(), buffer.getvalue()
