"""What --help texts and documents list of the code's own registries is the whole list.

test_docs_values.py and test_docs_tables.py hold the documents' settings, defaults and
tables to the code; these hold the shorter lists a help text or a document spells out
by hand, where a new component, release or port was once forgotten.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tests.unit.render_sites import files_by_dest, synapse_config
from wmx.cli import app
from wmx.cli.deploy import COMPONENTS_HELP
from wmx.ops.deploy_plan import known_components
from wmx.site import Site, releases


def test_deploy_only_help_names_every_component() -> None:
    """`wmx deploy --only`'s help named eleven components of thirteen (no redis, no
    synapse_workers), while --only takes every role of the play."""
    assert sorted(COMPONENTS_HELP.split(", ")) == known_components()


def _commands(command: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, f"{path} {name}")


def test_every_example_in_help_shows_as_a_block() -> None:
    """Typer dedents a help text's paragraphs after the first as one piece: an example
    block indented under a one-line paragraph lost its indent and ran together as prose
    (`wmx irc plumb-file`'s YAML, as first written). Each indented line stays indented."""
    flat = []
    for path, command in _commands(typer.main.get_command(app), "wmx"):
        rest = "\n\n".join(inspect.cleandoc(command.help or "").split("\n\n")[1:])
        shown = zip(rest.splitlines(), inspect.cleandoc(rest).splitlines(), strict=False)
        flat += [f"{path}: {a.strip()}" for a, b in shown if a[:4] == "    " and b[:4] != "    "]
    assert not flat, "examples --help runs into prose:\n" + "\n".join(flat)


ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Where wmx's ports are set: the components and the settings' defaults, the templates and
# roles that listen and firewall, the lab's own services.
PORT_SOURCES = ["wmx/components", "wmx/site", "wmx/lab", "templates", "playbooks"]
SERVICES = "SSH|PostgreSQL|Synapse|identd|Heisenbridge|Prometheus|Alertmanager|Redis|TURN"
PORT = re.compile(
    r"(?:\b(?:127\.0\.0\.1|localhost|\d{1,3}(?:\.\d{1,3}){3}|[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*"
    r"\.(?:test|org))|\]):([1-9]\d{1,4})\b"
    rf"|\b(?:port|ports|on port)\s+([1-9]\d{{1,4}})\b|\b(?:{SERVICES}) \(([1-9]\d{{1,4}})\)"
)
NOT_PORTS = {"44883": "docs/bench.md: a tunnel's free local port in an example output"}


def _numbers_in(folder: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / folder).rglob("*"):
        if path.is_file() and path.suffix in (".py", ".j2", ".yml", ".yaml", ".inc", ""):
            found |= set(re.findall(r"(?<![\d.])[1-9]\d{1,4}(?![\d])", path.read_text()))
    return found


def test_every_port_a_document_names_is_set_in_the_code() -> None:
    """`127.0.0.1:9000`, "port 9898", "identd (113)": each port a document gives is a
    number the components, settings, templates, roles or the lab have."""
    code = set().union(*map(_numbers_in, PORT_SOURCES))
    checked, unknown = 0, []
    for path in DOCS:
        for no, line in enumerate(path.read_text().splitlines(), 1):
            for match in PORT.finditer(line):
                port = next(g for g in match.groups() if g)
                checked += 1
                if port not in code and port not in NOT_PORTS:
                    unknown.append(f"{path.relative_to(ROOT)}:{no}: {port}")
    assert checked > 40, checked
    assert not unknown, "ports the documents name that no code sets:\n" + "\n".join(unknown)


def test_config_validate_says_valid_in_one_line(tmp_path: Path) -> None:
    """docs/production.md shows `wmx config validate`'s answer as one line; into a pipe
    Rich had wrapped it at 80 columns, the component list cut in two."""
    runner = CliRunner()
    site = str(tmp_path / "s")
    init = ["init", site, "--defaults", "--server-name", "example.org"]
    assert runner.invoke(app, init).exit_code == 0
    result = runner.invoke(app, ["--site", site, "config", "validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "valid: example.org on matrix "
        "(base/postgresql/synapse/irc_bridge/element/nginx/turn/exporters/monitoring/backup)"
    ]


def test_every_output_option_offers_what_its_help_says() -> None:
    """`wmx upgrade plan -o yaml` and `wmx lab status -o yaml` printed the table, their
    help saying "table or json" (lab's saying nothing): an --output option takes yaml
    only where its help offers it, and has a help."""
    wrong = []
    for path, command in _commands(typer.main.get_command(app), "wmx"):
        for param in command.params:
            if "--output" not in getattr(param, "opts", ()) or not param.type_descriptor.is_choice:
                continue  # export-key's --output is a directory
            choices = {str(getattr(c, "value", c)) for c in param.type_descriptor.choices}
            said = set(re.findall(r"\b(table|json|yaml|zone)\b", param.help or ""))
            if choices != said:
                wrong.append(f"{path}: takes {sorted(choices)}, its help says {sorted(said)}")
    assert not wrong, "\n".join(wrong)


def test_output_yaml_is_refused_where_there_is_none(tmp_path: Path) -> None:
    for argv in (["lab", "status", "-o", "yaml"], ["upgrade", "plan", "-o", "yaml"]):
        result = CliRunner().invoke(app, ["--site", str(tmp_path), *argv])
        assert result.exit_code == 2, (argv, result.output)
        assert "'yaml' is not one of 'table', 'json'" in result.output, result.output


def test_every_parameter_has_a_help() -> None:
    """`wmx user create --display-name` was the one option --help said nothing of."""
    bare = [
        f"{path} {param.opts[0]}"
        for path, command in _commands(typer.main.get_command(app), "wmx")
        for param in command.params
        if not getattr(param, "help", None) and "--help" not in param.opts
    ]
    assert not bare, f"parameters without a help: {bare}"


def test_the_releases_documents_call_pinned_are_wmx_site_releases() -> None:
    """docs/chat.md's pinned Element Web (version, archive, SHA-256) and Cinny,
    docs/debian.md's "pinned releases on Python 3.13" and README's `upgrade apply --to`
    are the releases wmx/site/releases.py pins: a re-pin that forgets a document fails."""
    chat = " ".join((ROOT / "docs/chat.md").read_text().split())
    element = re.search(r"wmx pins Element Web \*\*(\S+)\*\*.*?`element-v(\S+)\.tar\.gz`", chat)
    assert element and element.groups() == (releases.DEFAULT_ELEMENT_VERSION,) * 2
    assert f"`{releases.DEFAULT_ELEMENT_SHA256}`" in chat
    cinny = re.search(r"For Cinny, wmx pins \*\*(\S+)\*\* \(`cinny-v(\S+)\.tar\.gz`", chat)
    assert cinny and cinny.groups() == (releases.DEFAULT_CINNY_VERSION,) * 2
    hashed = re.search(r"downloaded Cinny is pinned for (\S+) only", chat)
    assert hashed and [hashed.group(1)] == list(releases.CINNY_INLINE_SCRIPT_HASHES)
    debian = " ".join((ROOT / "docs/debian.md").read_text().split())
    pinned = re.search(r"on Python 3\.13\.\*\* Synapse (\S+) ships.*?Heisenbridge (\S+) is", debian)
    assert pinned and pinned.groups() == (
        releases.DEFAULT_SYNAPSE_VERSION,
        releases.DEFAULT_HEISENBRIDGE_VERSION,
    )
    readme = (ROOT / "README.md").read_text()
    assert f"wmx upgrade apply [--to {releases.DEFAULT_SYNAPSE_VERSION}]" in readme


def test_production_md_first_deploy_plan_is_what_deploy_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/production.md step 7 shows the plan line of a first deploy of `wmx init`'s
    site; it had left out the remove steps' `make sure redis, synapse_workers absent`."""
    from wmx.ops.deploy import plan_deploy
    from wmx.ops.deploy_present import show_plan
    from wmx.site import load_site

    site = tmp_path / "chapter"
    init = ["init", str(site), "--defaults", "--server-name", "example.org"]
    assert CliRunner().invoke(app, init).exit_code == 0
    capsys.readouterr()
    show_plan(plan_deploy(load_site(site), full=True))  # full: no drift check over SSH
    printed = capsys.readouterr().out.splitlines()[1]
    step = (ROOT / "docs/production.md").read_text().partition("## 7. Deploy")[2]
    shown = re.search(r"```\n(Rendered .*?)```", step, re.S)
    assert shown and printed in shown.group(1).splitlines()


def test_readme_lists_every_document() -> None:
    """README's table of documents had no row for docs/production.md."""
    table = (ROOT / "README.md").read_text().partition("Documentation, in `docs/`:")[2]
    listed = set(re.findall(r"^\| `docs/([\w-]+\.md)` \|", table.partition("\n\n## ")[0], re.M))
    assert listed == {p.name for p in (ROOT / "docs").glob("*.md")}


def test_admin_md_says_where_synapse_listens(three_hosts: Site) -> None:
    """docs/admin.md said Synapse's listener binds to loopback only; with the proxy on
    another host it binds the homeserver's private address too, open to the proxy."""
    files = files_by_dest(three_hosts, "hs1")
    listener = synapse_config(files)["listeners"][0]
    assert listener["port"] == 8008 and listener["bind_addresses"] == ["127.0.0.1", "10.0.0.12"]
    assert "ip saddr 10.0.0.13 tcp dport 8008 accept" in files["/etc/nftables.conf"].content
    text = " ".join((ROOT / "docs" / "admin.md").read_text().split())
    assert (
        "where the proxy is another host, to the homeserver's private address, which its "
        "firewall opens to the proxy host alone"
    ) in text
