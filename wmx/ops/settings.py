"""`wmx config validate|get|set`: what a valid site is said to be (its server name, each
host with its components), one setting printed (sections, lists, booleans and null as
JSON), one setting changed (wmx.site.config_edit: written only when the result is valid)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer

from wmx.components import components_of
from wmx.components.synapse import require_login_secret
from wmx.errors import InputError
from wmx.ops.site_warnings import key_file_warnings, placeholder_warnings
from wmx.present import console, err_console, esc
from wmx.site import Site, SitePaths
from wmx.site.config_edit import get_value, set_value
from wmx.site.element_release import local_archive
from wmx.site.inventory import load_topology
from wmx.site.model import SiteConfig
from wmx.site.secrets import load_secrets


def validate_command(site: Site) -> None:
    """The site loaded (so checked), and what only a render needs (the consumer's
    secret): its name and hosts."""
    require_login_secret(site)
    hosts = ", ".join(f"{h.name} ({'/'.join(components_of(site, h))})" for h in site.topology.hosts)
    # One line into a pipe too (`wmx config validate | grep`), as docs/production.md shows it.
    console.print(
        f"[green]valid[/]: {esc(site.config.server_name)} on {esc(hosts)}", soft_wrap=True
    )
    for warning in [*placeholder_warnings(site), *key_file_warnings(site)]:
        err_console.print(f"[yellow]warning:[/] {esc(warning)}", soft_wrap=True)


def get_command(site: Site, key: str) -> None:
    value = get_value(site.config, key)
    typer.echo(
        json.dumps(value) if isinstance(value, dict | list | bool) or value is None else value
    )


def _with_inventory(paths: SitePaths) -> Callable[[SiteConfig], object]:
    """What a load checks beyond wmx.yaml's own rules (the settings against the
    inventory, a web client archive read and checked): `wmx config set` had written
    values that `wmx config validate` then refused. An inventory that does not load is
    left to `wmx config validate`: the settings are checked alone then."""

    def check(config: SiteConfig) -> object:
        try:
            topology = load_topology(paths.inventory, paths.state / "cache" / "inventory.json")
        except InputError:
            return None
        web = config.web_client
        if web.archive is not None:
            # The archive itself is checked here (a file, a web client's release, nothing
            # outside it); whether it agrees with web_client.kind, .version and .sha256 is
            # left to the load and the deploy, which refuses and keeps the running client:
            # a new release is set one key after the other, and an edit between two is let
            # through.
            try:
                _, facts = local_archive(web.archive, paths.root)
            except InputError as error:  # said as the command line's value (set_value)
                raise InputError(f"{paths.config}: {error}") from None
            relaxed = web.model_copy(update={"kind": facts.kind, "version": None, "sha256": None})
            config = config.model_copy(update={"web_client": relaxed})
        return Site(paths=paths, config=config, topology=topology)

    return check


def _next_step(paths: SitePaths, config: SiteConfig) -> str:
    """What to run after a change: `wmx deploy`, unless the site would not render yet
    (login: on without the consumer's secret, which `config set` cannot store)."""
    if config.login.enabled:
        try:
            stored = bool(load_secrets(paths.secrets).login_client_secret)
        except InputError:  # secrets.yml's own problem: the next command says it
            stored = True
        if not stored:
            return (
                "next: store the consumer's secret with `wmx login client-secret`, "
                "then `wmx deploy`"
            )
    return "apply with `wmx deploy`"


def set_command(root: Path, key: str, value: str) -> None:
    paths = SitePaths(root)
    deployed = paths.deployed.exists()
    config = set_value(paths, key, value, deployed=deployed, check=_with_inventory(paths))
    result = get_value(config, key)
    # A mapping was merged: show the section as it is now, not only what was given.
    shown = json.dumps(result) if isinstance(result, dict) else value
    console.print(f"{esc(key)} = {esc(shown)}  ({_next_step(paths, config)})")
