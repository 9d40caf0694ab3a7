"""Worker hosts the placement leaves idle are refused at load (docs/workers.md, "What runs
where"). The workers of each type go round robin over the `synapse_workers` hosts, so the
first worker of every type lands on the first host: `preset: small` (one of each) on two
hosts left the second with no worker, while the check counted all workers together and
let it load (the idle host still got Synapse's venv, its secrets and a way into
PostgreSQL). The check now asks the plan's own placement rule."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.unit.render_sites import BASE_CONFIG, make_site
from wmx.cli import app
from wmx.components import components_of
from wmx.components.synapse_workers import plan_of
from wmx.errors import InputError
from wmx.site.topology import HostView

from .test_hostile_files import new_site

runner = CliRunner()
DOC = Path(__file__).parents[2] / "docs" / "workers.md"


def _worker_site(site: Path, workers: int, settings: dict[str, object]) -> Path:
    """`site` with `settings` (set on its one host), then the layout of docs/workers.md:
    the database on db1, the homeserver and proxy on matrix1, `workers` hosts in
    synapse_workers, one entry per line."""
    for key, value in settings.items():
        result = runner.invoke(app, ["--site", str(site), "config", "set", key, str(value)])
        assert result.exit_code == 0, result.stderr
    hosts = {"db1": "10.0.0.11", "matrix1": "10.0.0.12"}
    hosts |= {f"workers{n}": f"10.0.0.{20 + n}" for n in range(1, workers + 1)}
    lines = ["all:", "  hosts:"]
    lines += [f"    {name}:\n      ansible_host: {address}" for name, address in hosts.items()]
    lines += ["  children:"]
    groups = {"database": ["db1"], "homeserver": ["matrix1"], "proxy": ["matrix1"]}
    groups["synapse_workers"] = [h for h in hosts if h.startswith("workers")]
    for group, members in groups.items():
        lines += [f"    {group}:", "      hosts:", *(f"        {m}:" for m in members)]
    (site / "inventory.yml").write_text("\n".join(lines) + "\n")
    return site


def _group_entry_line(site: Path, host: str) -> int:
    """The line of `host`'s entry in group synapse_workers (the last of its entries)."""
    lines = (site / "inventory.yml").read_text().splitlines()
    return max(n for n, line in enumerate(lines, 1) if line == f"        {host}:")


def _refused(site: Path) -> str:
    result = runner.invoke(app, ["--site", str(site), "render"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert not (site / "build").exists()
    return lines[0]


def test_the_docs_two_hosts_with_one_worker_of_each_type_are_refused(tmp_path: Path) -> None:
    # preset small runs one worker of each type: all on workers1, none on workers2.
    site = _worker_site(new_site(tmp_path), 2, {"synapse.workers.preset": "small"})
    before = (site / "wmx.yaml").read_bytes()
    line = _refused(site)
    where = f"{site / 'inventory.yml'}:{_group_entry_line(site, 'workers2')}: "
    assert line.startswith(f"error: {where}group synapse_workers: workers2 would run no worker")
    assert "synapse.workers.sync: 2" in line and "take it out of the group" in line
    assert (site / "wmx.yaml").read_bytes() == before


def test_config_set_that_would_idle_a_worker_host_is_refused(tmp_path: Path) -> None:
    settings = {"synapse.workers.preset": "small", "synapse.workers.sync": 2}
    site = _worker_site(new_site(tmp_path), 2, settings)
    before = (site / "wmx.yaml").read_bytes()
    argv = ["--site", str(site), "config", "set", "synapse.workers.sync", "1"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2 and "workers2 would run no worker" in result.stderr
    assert (site / "wmx.yaml").read_bytes() == before


def test_every_idle_host_is_named_with_the_first_ones_line(tmp_path: Path) -> None:
    settings = {"synapse.workers.preset": "small", "synapse.workers.sync": 2}
    site = _worker_site(new_site(tmp_path), 4, settings)
    line = _refused(site)
    where = f"{site / 'inventory.yml'}:{_group_entry_line(site, 'workers3')}: "
    assert line.startswith(f"error: {where}group synapse_workers: workers3, workers4 would run")
    assert "synapse.workers.sync: 4" in line


def test_a_layout_the_placement_fills_loads_and_validate_says_so(tmp_path: Path) -> None:
    site = _worker_site(
        new_site(tmp_path), 2, {"synapse.workers.preset": "small", "synapse.workers.sync": 2}
    )
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 0, result.stderr
    hosts = dict(re.findall(r"(\w+) \(([a-z_/]+)\)", result.stdout))
    assert "synapse_workers" in hosts["workers1"].split("/")
    assert "synapse_workers" in hosts["workers2"].split("/")


def _hosts(workers: int) -> list[HostView]:
    return [
        HostView("hs1", "10.0.0.12", ("database", "homeserver", "proxy"), 4096),
        *(HostView(f"wk{n}", f"10.0.0.{20 + n}", ("synapse_workers",), 4096) for n in
          range(1, workers + 1)),
    ]  # fmt: skip


COUNTS = [
    {"preset": "small"},
    {"preset": "large"},
    {"sync": 1},
    {"sync": 3},
    {"sync": 1, "client": 2},
    {"event_persister": 2, "media": 1},
    {"preset": "small", "client": 3},
]


@pytest.mark.parametrize(("workers", "hosts"), list(itertools.product(COUNTS, [1, 2, 3, 4, 5])))
def test_the_check_agrees_with_the_plan(
    tmp_path: Path, workers: dict[str, object], hosts: int
) -> None:
    """A layout loads exactly when the plan gives every worker host a worker, and each
    host's components then follow the plan (what `wmx config validate` prints)."""
    config = {**BASE_CONFIG, "synapse": {"workers": workers}}
    try:
        site = make_site(tmp_path, config, _hosts(hosts))
    except InputError as error:
        # Refused: rebuild the plan without the check to see that some host runs none.
        assert "would run no worker" in str(error)
        names = re.search(r"synapse_workers: (.*) would run", str(error))
        assert names is not None
        (tmp_path / "unchecked").mkdir()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("wmx.site.checks._check_workers", lambda *a: None)
            site = make_site(tmp_path / "unchecked", config, _hosts(hosts))
        idle = [h.name for h in site.topology.hosts[1:] if not plan_of(site).on(h.name)]
        assert idle and names.group(1) == ", ".join(idle)
        return
    for host in site.topology.hosts[1:]:
        assert plan_of(site).on(host.name), host.name
        assert "synapse_workers" in components_of(site, host)


def test_the_docs_example_loads(tmp_path: Path) -> None:
    """docs/workers.md's settings (its first YAML block) with its inventory (the block of
    "What runs where") load: the page shows a layout wmx accepts."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    settings = yaml.safe_load(blocks[0])["synapse"]["workers"]
    inventory = next(b for b in blocks if b.startswith("all:"))
    site = new_site(tmp_path)
    for key, value in settings.items():  # on the one host, then the page's layout
        argv = ["--site", str(site), "config", "set", f"synapse.workers.{key}", str(value)]
        assert runner.invoke(app, argv).exit_code == 0
    (site / "inventory.yml").write_text(inventory)
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    assert result.exit_code == 0, result.stderr
    assert "workers2 (base/synapse/synapse_workers)" in result.stdout
