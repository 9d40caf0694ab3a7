"""`wmx upgrade`: the CLI (plan output and exit status, rollback's question) and the apply
workflow's decisions with the host steps recorded instead of run (the lab runs them for
real: tests/e2e/test_upgrade.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wmx.backup.operations import RunOutcome
from wmx.cli import app
from wmx.errors import InputError, WmxError
from wmx.ops import upgrade, upgrade_host, upgrade_record
from wmx.ops.upgrade_gate import Canary, Probe, decide
from wmx.ops.upgrade_plan import Check, UpgradePlan
from wmx.ops.upgrade_release import Schema
from wmx.site import load_site

runner = CliRunner()


def _plan(rule: str = "keeps", ok: bool = True) -> UpgradePlan:
    compat = 95 if rule == "dump" else 84
    return UpgradePlan(
        configured="1.160.0",
        running="1.160.0",
        target="1.163.2",
        latest="1.164.0",
        tested=("1.160.0", "1.163.2"),
        requires_python="<4.0.0,>=3.10.0",
        postgres_min=14,
        schema_from=Schema(94, 84),
        schema_to=Schema(96, compat),
        database_rule=rule,
        checks=[Check("hs1", "python", ok, "Python 3.13.5 meets Requires-Python")],
        warnings=["PyPI has a newer release: 1.164.0 (this plan goes to 1.163.2)"],
    )


def test_upgrade_help_loads_no_heavy_module() -> None:
    code = (
        "import sys\nfrom wmx.cli import main\nsys.argv=['wmx','upgrade','--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'packaging')"
        " or m.startswith(('wmx.ops', 'wmx.site', 'wmx.admin'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_plan_table_and_json(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wmx.ops.upgrade_overview.plan_upgrade", lambda site, pypi, to: _plan())
    args = ["--site", str(site_dir), "upgrade", "plan", "-c", "synapse"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "runs 1.160.0" in result.output and "→ 1.163.2" in result.output
    assert "going back keeps the database" in result.output
    assert "newer release: 1.164.0" in result.output
    monkeypatch.setattr(
        "wmx.ops.upgrade_overview.plan_upgrade", lambda site, pypi, to: _plan("dump", ok=False)
    )
    result = runner.invoke(app, [*args, "-o", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False and list(data["components"]) == ["synapse"]
    assert data["components"]["synapse"]["database_rule"] == "dump"


class Hosts:
    """Records the host steps; the gate answers as told."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, verdicts: list[bool]) -> None:
        self.scripts: list[tuple[str, str]] = []
        self.verdicts = verdicts
        monkeypatch.setattr(upgrade_host, "remote", self.remote)
        monkeypatch.setattr(upgrade, "ready_canary", lambda site: Canary("c", "p", "!r"))
        monkeypatch.setattr(upgrade, "gate_after_start", self.gate)
        monkeypatch.setattr("wmx.backup.operations.run_backup", self.backup)

    def backup(self, host: Any, steps: Any, label: str | None = None) -> RunOutcome:
        self.scripts.append((host.name, f"wmx-backup run --label {label}"))
        return RunOutcome(ok=True, run={"archive": f"matrix-2026-11-30T02:00:00-{label}"})

    def remote(self, host: Any, script: str, timeout: float = 0) -> str:
        self.scripts.append((host.name, script))
        return "/var/backups/wmx-upgrade/x.dump\n" if "pg_dump" in script else ""

    def gate(self, site: Any, version: str, canary: Any, timeout: float) -> Any:
        ok = self.verdicts.pop(0)
        probes = [Probe(n, ok, "OK" if ok else "boom") for n in upgrade_required()]
        return decide(probes, ready_s=2.0 if ok else None)


def upgrade_required() -> tuple[str, ...]:
    from wmx.ops.upgrade_gate import REQUIRED

    return REQUIRED


def test_apply_passes_and_records(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hosts = Hosts(monkeypatch, [True])
    set_old = runner.invoke(
        app, ["--site", str(site_dir), "config", "set", "synapse.version", "1.160.0"]
    )
    assert set_old.exit_code == 0, set_old.output
    comments = [line for line in (site_dir / "wmx.yaml").read_text().splitlines() if "#" in line]
    site = load_site(site_dir)
    record = upgrade.apply_plan(site, _plan(), lambda _t: None)
    assert record.status == "applied"
    # Migrations: start → /health OK; outage: stop → /health OK.
    assert record.migration_s == 2.0 and record.outage_s is not None and record.outage_s >= 2.0
    steps = [s for _h, s in hosts.scripts]
    # The fresh archive is named after the upgrade.
    label = "before-synapse-1.160.0-to-1.163.2"
    assert steps[0] == f"wmx-backup run --label {label}"
    assert record.backup_archive == f"matrix-2026-11-30T02:00:00-{label}"
    assert "pg_dump" in steps[1] and "pip install" in steps[2] and "mv -T" in steps[3]
    assert "1.163.2" in steps[2] and "venvs/1.163.2" in steps[3]
    assert load_site(site_dir).config.synapse.version == "1.163.2"
    # wmx.yaml records the release that runs, every comment kept.
    text = (site_dir / "wmx.yaml").read_text()
    assert all(line in text for line in comments)
    last = upgrade_record.last_record(site.paths.state)
    assert last is not None and last["status"] == "applied"
    # And on purpose back: the rule said "keeps", so nothing is lost and nothing restored.
    plan = upgrade.plan_rollback(load_site(site_dir))
    assert plan.to_version == "1.160.0" and plan.loss().startswith("nothing")


def test_a_failed_gate_rolls_back_and_restores_when_needed(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = Hosts(monkeypatch, [False, True])
    site = load_site(site_dir)
    before = (site_dir / "wmx.yaml").read_text()
    with pytest.raises(upgrade.UpgradeFailed, match=r"failed the gate .*rolled back to 1\.160\.0"):
        upgrade.apply_plan(site, _plan("dump"), lambda _t: None)
    steps = [s for _h, s in hosts.scripts]
    assert any("pg_restore" in s and "x.dump" in s for s in steps)
    assert "venvs/1.160.0" in steps[-1]  # the last step switched back
    assert (site_dir / "wmx.yaml").read_text() == before
    last = upgrade_record.last_record(site.paths.state)
    assert last is not None and last["status"] == "rolled-back" and last["database_restored"]
    result = runner.invoke(app, ["--site", str(site_dir), "upgrade", "rollback", "--yes"])
    assert result.exit_code == 2 and "no applied upgrade" in result.output


def test_keeps_rule_rolls_back_without_touching_the_database(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = Hosts(monkeypatch, [False, True])
    with pytest.raises(upgrade.UpgradeFailed):
        upgrade.apply_plan(load_site(site_dir), _plan("keeps"), lambda _t: None)
    assert not any("pg_restore" in s for _h, s in hosts.scripts)


def test_a_failing_plan_changes_nothing(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hosts = Hosts(monkeypatch, [])
    with pytest.raises(InputError, match="checks fail"):
        upgrade.apply_plan(load_site(site_dir), _plan(ok=False), lambda _t: None)
    assert hosts.scripts == []


def test_rollback_says_what_is_lost_before_asking(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = load_site(site_dir)
    record = upgrade_record.UpgradeRecord(
        "apply", "synapse", "1.160.0", "1.163.2", "2026-11-30T02:00:00Z", "dump",
        dump="/var/backups/wmx-upgrade/x.dump", status="applied",
    )  # fmt: skip
    record.save(site)
    hosts = Hosts(monkeypatch, [])
    result = runner.invoke(app, ["--site", str(site_dir), "upgrade", "rollback"], input="n\n")
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "lost: everything written since 2026-11-30T02:00:00Z" in said
    assert hosts.scripts == []


def test_rollback_goes_back_from_synapses_last_upgrade_not_the_last_run(
    site_dir: Path,
) -> None:
    """A bridge or web client run after Synapse's upgrade is last.json; Synapse's rollback
    still reads Synapse's own record (it went back to the bridge's release before)."""
    site = load_site(site_dir)
    upgrade_record.UpgradeRecord(
        "apply", "synapse", "1.160.0", "1.163.2", "2026-11-30T02:00:00Z", "keeps",
        status="applied",
    ).save(site)  # fmt: skip
    upgrade_record.UpgradeRecord(
        "apply", "irc-bridge", "1.15.3", "1.15.4", "2026-11-30T02:10:00Z", "keeps",
        status="applied",
    ).save(site)  # fmt: skip
    assert (upgrade_record.last_record(site.paths.state) or {})["component"] == "irc-bridge"
    plan = upgrade.plan_rollback(site)
    assert (plan.from_version, plan.to_version) == ("1.163.2", "1.160.0")
    upgrade_record.UpgradeRecord(
        "rollback", "synapse", "1.163.2", "1.160.0", "2026-11-30T02:20:00Z", "keeps",
        status="rolled-back-by-hand",
    ).save(site)  # fmt: skip
    with pytest.raises(InputError, match="no applied upgrade of Synapse"):
        upgrade.plan_rollback(site)


def test_a_failed_rollback_says_so_and_names_the_dump(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = Hosts(monkeypatch, [False])

    def remote(host: Any, script: str, timeout: float = 0) -> str:
        if "pg_restore" in script:
            raise WmxError(f"{host.name}: pg_restore: error: could not connect")
        return hosts.remote(host, script, timeout)

    monkeypatch.setattr(upgrade_host, "remote", remote)
    site = load_site(site_dir)
    with pytest.raises(upgrade.UpgradeFailed, match=r"rollback to 1\.160\.0 failed.*x\.dump"):
        upgrade.apply_plan(site, _plan("dump"), lambda _t: None)
    last = upgrade_record.last_record(site.paths.state)
    assert last is not None and last["status"] == "failed"


def test_a_switch_that_fails_on_the_host_is_rolled_back_too(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = Hosts(monkeypatch, [True])  # only the rollback's gate runs

    def remote(host: Any, script: str, timeout: float = 0) -> str:
        if "venvs/1.163.2" in script and "mv -T" in script:
            raise WmxError(f"{host.name}: Failed to stop matrix-synapse.service")
        return hosts.remote(host, script, timeout)

    monkeypatch.setattr(upgrade_host, "remote", remote)
    with pytest.raises(upgrade.UpgradeFailed, match=r"\(switch: .*Failed to stop"):
        upgrade.apply_plan(load_site(site_dir), _plan(), lambda _t: None)
    assert "venvs/1.160.0" in hosts.scripts[-1][1]


def test_the_switch_does_not_wait_for_the_migrations() -> None:
    # Type=notify: a blocking start would wait for READY=1; the gate's time limit rules.
    assert "systemctl start --no-block matrix-synapse.service" in upgrade.switch_script("1.2.3")


def test_rehearse_upgrades_a_copy_on_the_spare_only(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import nullcontext

    from wmx.backup.progress import QuietSteps
    from wmx.backup.restore import RestoreReport
    from wmx.ops import drill, upgrade_rehearse

    site = load_site(site_dir)
    copy = load_site(site_dir)  # stands for .wmx/drill/HOST/: another Site object
    applied_on: list[object] = []
    monkeypatch.setattr(drill, "drill_target", lambda s, on, *_: s.topology.hosts[0])
    monkeypatch.setattr(drill, "drill_site", lambda s, t: copy)
    monkeypatch.setattr(drill, "deploy_drill_host", lambda c, t, console: None)
    monkeypatch.setattr(
        drill, "drill", lambda *a, **k: RestoreReport(target="spare", archive="matrix-1")
    )
    monkeypatch.setattr(upgrade_rehearse, "plan_upgrade", lambda s, pypi, to: _plan())

    def apply(
        s: object, plan: UpgradePlan, say: object, gate_timeout: float, backup: bool
    ) -> object:
        assert backup is False  # the copy was itself restored from a backup
        applied_on.append(s)
        raise upgrade.UpgradeFailed("Synapse 1.163.2 failed the gate (health: boom)")

    monkeypatch.setattr(upgrade_rehearse, "apply_plan", apply)
    result = upgrade_rehearse.rehearse_upgrade(
        site,
        to=None,
        on=None,
        console=None,  # type: ignore[arg-type]
        steps=lambda: nullcontext(QuietSteps()),
        say=lambda _t: None,
    )
    assert applied_on == [copy] and applied_on[0] is not site
    assert not result.ok and "health: boom" in result.failure
    assert result.as_json()["archive"] == "matrix-1"


def test_status_shows_the_last_upgrade(site_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wmx.status.present import show_last_upgrade

    site = load_site(site_dir)
    show_last_upgrade(upgrade_record.last_record(site.paths.state))
    assert "last upgrade" not in capsys.readouterr().out  # none yet: nothing said
    upgrade_record.UpgradeRecord(
        "apply", "synapse", "1.160.0", "1.163.2", "2026-11-30T02:00:00Z", "keeps",
        status="applied", finished="2026-11-30T02:03:00Z",
    ).save(site)  # fmt: skip
    show_last_upgrade(upgrade_record.last_record(site.paths.state))
    said = " ".join(capsys.readouterr().out.split())
    assert "last upgrade: synapse 1.160.0 → 1.163.2 applied at 2026-11-30T02:03:00Z" in said


def test_a_sul_only_site_is_refused_before_anything_changes(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    hosts = Hosts(monkeypatch, [])
    site = load_site(site_dir)
    sul_only = SimpleNamespace(login=SimpleNamespace(sul_only=True))
    with pytest.raises(InputError, match="sul_only refuses password logins"):
        upgrade.apply_plan(  # the site as it would load with login.sul_only: true
            SimpleNamespace(config=sul_only, paths=site.paths),  # type: ignore[arg-type]
            _plan(),
            lambda _t: None,
        )
    assert hosts.scripts == []


@pytest.mark.parametrize(
    ("text", "room_id"),
    [
        ('{"room_id": "!abc:u.test"}\n', "!abc:u.test"),
        ('{"room_id": "!ab', None),  # cut short (a killed write, a full disk)
        ('["!abc:u.test"]', None),
        ('{"room_id": "../x"}', None),
        (None, None),
    ],
)
def test_the_canary_room_record_is_read_or_a_new_room_is_made(
    tmp_path: Path, text: str | None, room_id: str | None
) -> None:
    record = tmp_path / "canary.json"
    if text is not None:
        record.write_text(text)
    assert upgrade._recorded_room(record) == room_id


class _PyPI:
    """PyPI's answer about Synapse's releases, without the network."""

    def __enter__(self) -> _PyPI:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def releases(self) -> list[str]:
        return ["1.160.0", "1.163.2"]

    def latest(self) -> str:
        return "1.163.2"


@pytest.mark.parametrize(
    ("to", "said"),
    [
        # A host where the release goes (`backup drill --to HOST` invites it): said at
        # once, not after minutes of deploy and restore onto the spare host.
        ("matrix", "--to matrix: a host of the inventory; --to is the release to upgrade to"),
        ("lab3", "--to: 'lab3' is not a Synapse release number such as 1.163.2"),
        ("1.999.0", "--to 1.999.0: no such Synapse release on PyPI (newest: 1.163.2)"),
    ],
)
def test_rehearse_checks_to_before_any_work(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch, to: str, said: str
) -> None:
    from wmx.ops import drill, upgrade_rehearse

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the rehearsal started")

    monkeypatch.setattr(drill, "drill_target", never)
    monkeypatch.setattr(upgrade_rehearse, "pypi_for", lambda site: _PyPI())
    result = runner.invoke(app, ["--site", str(site_dir), "upgrade", "rehearse", "--to", to])
    assert result.exit_code == 2, result.output
    assert said in result.output
