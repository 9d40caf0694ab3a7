"""`wmx upgrade plan` over every part the site runs (wmx.ops.upgrade_overview), and the
web client's upgrade from a release archive on this machine (`--archive`): the plan and
wmx.yaml's edit from a real archive (the lab's Element stand-in, packed as a release is),
with the host's link read from a recorded answer (the lab runs it for real:
tests/e2e/test_upgrade.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.unit.test_upgrade_cli import _plan as synapse_plan
from wmx.cli import app
from wmx.errors import InputError, WmxError
from wmx.lab.element import write_standin_archive
from wmx.ops import upgrade_overview, upgrade_parts
from wmx.ops.upgrade_overview import Overview, parts_of, plan_overview
from wmx.ops.upgrade_parts import PartPlan
from wmx.ops.upgrade_plan import Check
from wmx.site import load_site
from wmx.site.yamlfile import dump_document, load_document, write_atomically

runner = CliRunner()


def part_plan(component: str, *checks: Check) -> PartPlan:
    return PartPlan(component, "hs1", "1.15.3", "1.15.3", "1.15.4", checks=list(checks))


OK = Check("hs1", "python", True, "Python 3.11.2 meets Requires-Python >=3.10")
AT_TARGET = Check("hs1", "target", False, "cinny-4.2.2-0123456789ab is served")


def test_every_part_the_site_runs_in_its_order(site_dir: Path) -> None:
    assert parts_of(load_site(site_dir)) == ["synapse", "irc-bridge", "web-client"]
    inventory = site_dir / "inventory.yml"
    document = load_document(inventory)
    document["all"]["children"].pop("irc_bridge")
    write_atomically(inventory, dump_document(document))
    assert parts_of(load_site(site_dir)) == ["synapse", "web-client"]


def test_a_part_at_its_target_is_nothing_to_do_not_a_failure(site_dir: Path) -> None:
    site = load_site(site_dir)
    overview = plan_overview(
        site,
        lambda _s: synapse_plan(),
        lambda _s, name: part_plan(name, OK if name == "irc-bridge" else AT_TARGET),
    )
    assert list(overview.plans) == ["synapse", "irc-bridge", "web-client"]
    assert overview.ok
    data = overview.as_json()
    client = data["components"]["web-client"]
    assert data["ok"] is True and client["nothing_to_do"] is True and client["ok"] is False
    failing = plan_overview(
        site,
        lambda _s: synapse_plan("keeps", ok=False),
        lambda _s, name: part_plan(name, OK),
    )
    assert not failing.ok


def test_a_part_that_cannot_be_read_fails_alone(site_dir: Path) -> None:
    site = load_site(site_dir)

    def part(_site: Any, name: str) -> PartPlan:
        if name == "irc-bridge":
            raise WmxError("hs1: ssh: connect to host 10.0.0.1 port 22: No route to host")
        return part_plan(name, OK)

    overview = plan_overview(site, lambda _s: synapse_plan(), part)
    bridge = overview.plans["irc-bridge"]
    assert not overview.ok and [c.what for c in bridge.checks] == ["reach"]
    assert "No route to host" in bridge.checks[0].detail
    assert overview.plans["web-client"].ok and overview.plans["synapse"].ok
    # Narrowed to that part, the error is the command's.
    with pytest.raises(WmxError, match="No route to host"):
        plan_overview(site, lambda _s: synapse_plan(), part, only="irc-bridge")


def test_the_plan_command_shows_every_part(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str | None] = []

    def plan_all(site: Any, only: str | None, *_args: Any) -> Overview:
        asked.append(only)
        return plan_overview(
            site,
            lambda _s: synapse_plan(),
            lambda _s, name: part_plan(name, OK if name == "irc-bridge" else AT_TARGET),
            only,
        )

    monkeypatch.setattr(upgrade_overview, "plan_all", plan_all)
    result = runner.invoke(app, ["--site", str(site_dir), "upgrade", "plan"])
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "Synapse: runs 1.160.0 (wmx.yaml: 1.160.0) → 1.163.2" in shown
    assert "irc-bridge on hs1: runs 1.15.3 (wmx.yaml: 1.15.3) → 1.15.4" in shown
    assert "= hs1: cinny-4.2.2-0123456789ab is served: nothing to do" in shown
    result = runner.invoke(
        app, ["--site", str(site_dir), "upgrade", "plan", "-c", "irc-bridge", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.output)["components"]) == ["irc-bridge"]
    assert asked == [None, "irc-bridge"]


@pytest.mark.parametrize(
    "args",
    [["--to", "1.163.2"], ["--sha256", "0" * 64], ["--archive", "x.tar.gz"]],
)
def test_a_release_without_its_part_is_one_line_exit_2(site_dir: Path, args: list[str]) -> None:
    result = runner.invoke(app, ["--site", str(site_dir), "upgrade", "plan", *args])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --to, --sha256 and --archive name one part's release: add --component\n"
    )


def test_the_release_options_are_refused_before_the_site_is_read(tmp_path: Path) -> None:
    for command, args, message in (
        ("plan", ["--to", "1.163.2"], "add --component"),
        ("apply", ["--sha256", "0" * 64], "are for --component web-client"),
    ):
        result = runner.invoke(app, ["--site", str(tmp_path), "upgrade", command, *args])
        assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_synapse_and_the_bridge_take_no_archive(site_dir: Path) -> None:
    for part in ("synapse", "irc-bridge"):
        result = runner.invoke(
            app,
            ["--site", str(site_dir), "upgrade", "plan", "-c", part, "--archive", "x.tar.gz"],
        )
        assert result.exit_code == 2
        assert result.stderr == "error: --sha256 and --archive are for --component web-client\n"


# --- the web client from a release archive on this machine --------------------------


class ClientHost:
    """The proxy host: its `current` link, the deploy and the gate, recorded."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, served: str, gates: list[bool]) -> None:
        self.served, self.gates = served, gates
        self.deployed: list[str | None] = []
        self.scripts: list[str] = []
        monkeypatch.setattr(upgrade_parts, "_link_target", lambda _h, _l: self.served)
        monkeypatch.setattr(upgrade_parts, "remote", self.remote)
        monkeypatch.setattr(upgrade_parts, "client_gate", self.gate)
        monkeypatch.setattr("wmx.ops.deploy.plan_deploy", self.plan_deploy)
        monkeypatch.setattr("wmx.ops.deploy.run_deploy", lambda _d, console, **_: Done())

    def plan_deploy(self, site: Any, limit: str, only: list[str], full: bool = False) -> None:
        assert only == ["element", "nginx"]
        release = site.element_release
        self.deployed.append(release.name if release else None)

    def remote(self, host: Any, script: str, timeout: float = 0) -> str:
        self.scripts.append(script)
        return ""

    def gate(self, site: Any, timeout: float) -> tuple[bool, str]:
        ok = self.gates.pop(0)
        return ok, "nginx serves it" if ok else "web_client: / is not the current release's"


class Done:
    ok = True


def test_the_web_client_from_an_archive(
    site_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = load_site(site_dir)
    before = site.config.web_client
    running = site.element_release
    assert running is not None and before.archive is None
    archive = write_standin_archive(tmp_path / "releases", "0.1.9-wmxlab", "the newer one")
    host = ClientHost(monkeypatch, running.name, [True])
    plan = upgrade_parts.plan_part(site, "web-client", None, None, str(archive))
    assert (plan.running, plan.target, plan.ok) == (running.name, "0.1.9-wmxlab", True)
    done = upgrade_parts.apply_part(
        site,
        plan,
        None,
        lambda _t: None,
        console=Console(quiet=True),
        gate_timeout=10,
        archive=str(archive),
    )
    now = load_site(site_dir)
    assert now.config.web_client.archive == str(archive)
    assert now.element_release is not None
    assert (now.config.web_client.version, now.config.web_client.sha256) == (
        "0.1.9-wmxlab",
        now.element_release.sha256,
    )
    assert host.deployed == [now.element_release.name] and done.to_version == host.deployed[0]
    # The same archive again: already served, nothing to do.
    host.served = now.element_release.name
    again = upgrade_parts.plan_part(now, "web-client", None, None, str(archive))
    assert [c.what for c in again.checks if not c.ok] == ["target"]
    # Back on purpose: the previous release, and wmx.yaml as it was (no archive).
    applied = upgrade_parts.plan_part_rollback(now, "web-client")
    host.gates = [True]
    upgrade_parts.rollback_part(now, "web-client", applied, lambda _t: None)
    assert "readlink /opt/element/previous" in host.scripts[-1]
    assert load_site(site_dir).config.web_client == before


def test_an_archive_that_is_not_the_release_asked_for_changes_nothing(
    site_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = load_site(site_dir)
    ClientHost(monkeypatch, "1.12.25-14d7f2671eb1", [])
    archive = str(write_standin_archive(tmp_path, "0.1.9-wmxlab"))
    text = (site_dir / "wmx.yaml").read_text()
    with pytest.raises(InputError, match=r"--to 0\.2\.0, but --archive .* holds 0\.1\.9-wmxlab"):
        upgrade_parts.plan_part(site, "web-client", "0.2.0", None, archive)
    with pytest.raises(InputError, match=r"its SHA-256 is .*, not --sha256's"):
        upgrade_parts.plan_part(site, "web-client", None, "0" * 64, archive)
    assert (site_dir / "wmx.yaml").read_text() == text
