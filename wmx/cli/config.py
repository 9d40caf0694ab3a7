"""`wmx config`: validate, read and change settings in wmx.yaml."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from wmx.cli.common import StdinOption, console, group, open_site, site_root, store_password
from wmx.present import esc

app = group("config")


@app.command()
def validate(ctx: typer.Context) -> None:
    """Check wmx.yaml and inventory.yml; errors name file, line, key and what is allowed."""
    from wmx.components import components_of

    site = open_site(ctx)
    hosts = ", ".join(f"{h.name} ({'/'.join(components_of(site, h))})" for h in site.topology.hosts)
    console.print(f"[green]valid[/]: {esc(site.config.server_name)} on {esc(hosts)}")


@app.command()
def get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Dotted name, e.g. synapse.log_level.")],
) -> None:
    """Print one setting (sections print as JSON)."""
    from wmx.site.config_edit import get_value

    value = get_value(open_site(ctx).config, key)
    typer.echo(
        json.dumps(value) if isinstance(value, dict | list | bool) or value is None else value
    )


@app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Dotted name, e.g. synapse.max_upload_size_mb.")],
    value: Annotated[
        str,
        typer.Argument(
            help="New value, read as YAML (50, true, text). A mapping ({a: 1}) is merged "
            "into the section: keys it does not name keep their values."
        ),
    ],
) -> None:
    """Change one setting; the file is written only if the result is valid. Comments stay."""
    from wmx.site import SitePaths
    from wmx.site.config_edit import get_value, set_value

    paths = SitePaths(site_root(ctx))
    result = get_value(set_value(paths, key, value, deployed=paths.deployed.exists()), key)
    # A mapping was merged: show the section as it is now, not only what was given.
    shown = json.dumps(result) if isinstance(result, dict) else value
    console.print(f"{esc(key)} = {esc(shown)}  (apply with `wmx deploy`)")


@app.command("smtp-password")
def smtp_password(ctx: typer.Context, stdin: StdinOption = False) -> None:
    """Store the password of Synapse's mail relay (synapse.email.smtp_user) in secrets.yml.

    Asked for without echo, or read from standard input: never from the command line.
    Apply with `wmx deploy --only synapse`.
    """
    store_password(open_site(ctx), "synapse_smtp_password", stdin=stdin, component="synapse")
