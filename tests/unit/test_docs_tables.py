"""Tables of the documentation that list what the code has, checked against it: each
list says all there is and nothing else (test_docs_values.py checks stated values).

- docs/doctor.md's check ids are what `wmx doctor --skip` accepts;
- docs/monitoring.md's alerts are the rules wmx deploys;
- every mode, owner and secrecy a document states for a rendered file is the manifest's;
- docs/contracts.md's `Secrets` and its `wmx_roles` of `wmx init --defaults`'s site, and
  docs/deploy.md's table of vars.json keys, are what the code writes;
- docs/workers.md's presets and docs/debian.md's release table are the code's tables.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from tests.unit.render_sites import BASE_CONFIG, make_site, three_hosts_site
from tests.unit.test_docs_values import DOCS, ROOT, _cells
from wmx.cli import app
from wmx.debian import RELEASES
from wmx.doctor.run import INSIDE_KINDS, OUTSIDE_KINDS
from wmx.render import plan_site, render_site
from wmx.site.secrets import Secrets
from wmx.site.settings.workers import PRESETS
from wmx.site.topology import HostView
from wmx.status.services import known_service_names


def _table_ids(text: str) -> set[str]:
    ids: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            for span in re.findall(r"`([^`]+)`", _cells(line)[0]):
                ids.add(span.split(":")[0])
    return ids


def test_doctor_md_lists_every_check_kind() -> None:
    """docs/doctor.md's two tables, "From outside" and "From inside", name each kind
    `wmx doctor` runs and `--skip` accepts, and no other."""
    text = (ROOT / "docs/doctor.md").read_text()
    outside, _, inside = text.partition("## From inside")
    assert _table_ids(outside) == set(OUTSIDE_KINDS)
    assert _table_ids(inside.partition("\n## ")[0]) == set(INSIDE_KINDS)


def test_monitoring_md_lists_every_alert() -> None:
    """docs/monitoring.md's table of alerts ("what to do") names each rule wmx deploys."""
    rules = (ROOT / "templates/monitoring/etc/prometheus/rules/wmx.yml.j2").read_text()
    deployed = set(re.findall(r"- alert: (\w+)", rules))
    documented = re.findall(r"^\| `(Wmx\w+)`", (ROOT / "docs/monitoring.md").read_text(), re.M)
    assert len(deployed) > 10
    assert set(documented) == deployed and len(documented) == len(deployed)


FILE_CLAIM = re.compile(r"`(/[^`{}]+)` \((0[0-7]{3})( [a-z_-]+:[a-z_-]+)?[^)]*\)")


def test_every_stated_file_mode_is_the_rendered_ones(tmp_path: Path) -> None:
    """ "`/etc/turnserver.conf` (0640 root:turnserver, **secret**)": the mode, owner and
    secrecy a document states for a file wmx renders are what the manifest gives it."""
    config = {**BASE_CONFIG, "backup": {"enabled": True}}
    every = ("database", "homeserver", "proxy", "monitoring", "irc_bridge", "element", "turn")
    (tmp_path / "all").mkdir()
    (tmp_path / "three").mkdir()
    sites = [
        make_site(tmp_path / "all", config, [HostView("hs1", "10.0.0.11", every, 2048)]),
        three_hosts_site(tmp_path / "three"),
    ]
    rendered = {f.dest: f for site in sites for files in render_site(site).values() for f in files}
    checked, wrong = 0, []
    for path in DOCS:
        for no, line in enumerate(path.read_text().splitlines(), 1):
            for match in FILE_CLAIM.finditer(line):
                dest, mode, owner = match.groups()
                file = rendered.get(dest)
                if file is None:
                    continue
                checked += 1
                stated = (mode, owner.strip() if owner else f"{file.owner}:{file.group}")
                secret = "secret" in match.group(0)
                if stated != (file.mode, f"{file.owner}:{file.group}") or secret != file.secret:
                    wrong.append(
                        f"{path.relative_to(ROOT)}:{no}: {match.group(0)}; rendered "
                        f"{file.mode} {file.owner}:{file.group}{', secret' * file.secret}"
                    )
    assert checked >= 8, checked
    assert not wrong, "file modes the documents state wrongly:\n" + "\n".join(wrong)


def test_contracts_md_names_every_secret() -> None:
    """docs/contracts.md's list of `Secrets` (the templates' `secrets`) is its fields."""
    text = (ROOT / "docs/contracts.md").read_text()
    listed = text.partition("- `secrets`: `Secrets` (")[2].partition(")\n")[0]
    assert set(re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", listed)) == {
        f.name for f in dataclasses.fields(Secrets)
    }


def test_contracts_md_wmx_roles_is_what_init_defaults_plans(tmp_path: Path) -> None:
    """docs/contracts.md shows `wmx_roles` "for the one-host site of `wmx init
    --defaults`": it is the vars.json `wmx render` writes for that site."""
    site = tmp_path / "s"
    runner = CliRunner()
    init = ["init", str(site), "--defaults", "--server-name", "example.test"]
    assert runner.invoke(app, init).exit_code == 0
    assert runner.invoke(app, ["--site", str(site), "render"]).exit_code == 0
    (vars_json,) = (site / "build").glob("*/.wmx/vars.json")
    text = (ROOT / "docs/contracts.md").read_text()
    block = text.partition('```json\n"wmx_roles": ')[2].partition("```")[0]
    assert json.loads(block) == json.loads(vars_json.read_text())["wmx_roles"]


def test_deploy_md_lists_every_role_var(tmp_path: Path) -> None:
    """docs/deploy.md's table of vars.json names every key a plan writes, and no other:
    sites with every group, workers, a backup host, the Wikimedia login, three hosts."""
    (tmp_path / "all").mkdir()
    (tmp_path / "three").mkdir()
    config = {
        **BASE_CONFIG,
        "backup": {"enabled": True},
        "synapse": {"workers": {"preset": "small"}},
        "login": {"provider": "wikimedia", "consumer_key": "0123456789abcdef" * 2},
    }
    every = ("database", "homeserver", "proxy", "monitoring", "irc_bridge", "element", "turn")
    hosts = [
        HostView("hs1", "10.0.0.11", every, 4096),
        HostView("bk1", "10.0.0.12", ("backup",), 2048),
        HostView("w1", "10.0.0.13", ("synapse_workers",), 2048),
    ]
    sites = [make_site(tmp_path / "all", config, hosts), three_hosts_site(tmp_path / "three")]
    keys = {
        key
        for site in sites
        for host in plan_site(site).hosts.values()
        for key in json.loads(host.vars_json)
    }
    table = (ROOT / "docs/deploy.md").read_text().partition("## vars.json")[2]
    documented = {
        key
        for line in table.partition("\n## ")[0].splitlines()
        if line.startswith("| `")
        for key in re.findall(r"`([a-z_][a-z0-9_]*)`", _cells(line)[0])
    }
    assert keys == documented, f"undocumented: {keys - documented}, gone: {documented - keys}"


def test_workers_md_presets_are_the_models() -> None:
    """docs/workers.md's table of presets gives each type's count as PRESETS does."""
    text = (ROOT / "docs/workers.md").read_text()
    table = text.partition("## Presets")[2].partition("\n\n")[2].partition("\n\n")[0]
    rows = [_cells(line) for line in table.splitlines()]
    header, documented = rows[0], dict[str, dict[str, int]]()
    for cells in rows[2:]:
        worker = cells[0].strip("`")
        for preset, count in zip(header[2:], cells[2:], strict=True):
            documented.setdefault(preset, {})[worker] = int(count)
    assert documented == PRESETS


def test_debian_md_release_table_is_wmx_debian() -> None:
    """docs/debian.md's table of what differs between the releases is wmx/debian.py's."""
    text = (ROOT / "docs/debian.md").read_text()
    rows = [_cells(line) for line in text.splitlines() if line.startswith("| ")]
    header = rows[0]
    assert [re.search(r"\((\w+)\)", h).group(1) for h in header[1:]] == list(RELEASES)  # type: ignore[union-attr]
    fields = {"PostgreSQL": "postgresql", "Python": "python", "borg": "borg"}
    fields |= {"systemd": "systemd", "security suite": "security_suite", "nginx": "nginx"}
    checked = set()
    for cells in rows[2:]:
        field = next(f for label, f in fields.items() if cells[0].startswith(label))
        for codename, cell in zip(RELEASES, cells[1:], strict=True):
            assert cell.split(":")[0] == str(getattr(RELEASES[codename], field)), cells
        checked.add(field)
    assert checked == set(fields.values())


def test_monitoring_md_lists_every_service_wmx_logs_takes() -> None:
    text = (ROOT / "docs/monitoring.md").read_text()
    listed = text.partition("the journal of a service (")[2].partition(", or one of")[0]
    assert set(re.findall(r"`([a-z-]+)`", listed)) == set(known_service_names())
